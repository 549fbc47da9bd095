//! The playbook: the order in which the bundled models teach, and where each one is told
//! at length.
//!
//! A reader preparing for a system-design interview meets the models as a course, not as
//! an alphabet: first what a crash does to state (and what clients' retries do after
//! it), then sessions, files, real time, the
//! interview's question-and-answer scenarios, scaling and load balancing. `index.html`
//! builds its contents and sections in this order, `statesim walkthrough` lists its
//! topics in it, and each model's section links its walkthrough and its notebook from
//! here. A model that is not in the playbook (a reader's own) comes after it, in the
//! order it was given.

/// A chapter of the playbook: its title and its models, in teaching order.
pub struct Chapter {
    pub title: &'static str,
    pub lessons: &'static [Lesson],
}

/// A bundled model's place in the playbook.
pub struct Lesson {
    /// The model's name, which is also its walkthrough topic.
    pub model: &'static str,
    /// The notebook that tells it at length, relative to the repository.
    pub notebook: &'static str,
}

const fn lesson(model: &'static str, notebook: &'static str) -> Lesson {
    Lesson { model, notebook }
}

pub static CHAPTERS: &[Chapter] = &[
    Chapter {
        title: "Crash test",
        lessons: &[
            lesson("crash-test", "notebooks/01-crash-test.ipynb"),
            lesson("litmus-test", "notebooks/01-crash-test.ipynb"),
            lesson("sticky-hashing", "notebooks/01-crash-test.ipynb"),
            lesson("retry-storm", "notebooks/01-crash-test.ipynb"),
        ],
    },
    Chapter {
        title: "Sessions",
        lessons: &[
            lesson("session-latency", "notebooks/02-sessions-and-revocation.ipynb"),
            lesson("jwt-revocation", "notebooks/02-sessions-and-revocation.ipynb"),
            lesson("shopping-cart", "notebooks/03-hot-spots-and-carts.ipynb"),
            lesson("state-tier", "notebooks/08-state-tier.ipynb"),
        ],
    },
    Chapter {
        title: "Files",
        lessons: &[lesson("file-uploads", "notebooks/06-files-realtime-jobs.ipynb"), lesson("url-expiry", "notebooks/06-files-realtime-jobs.ipynb")],
    },
    Chapter {
        title: "Real time",
        lessons: &[lesson("websockets", "notebooks/06-files-realtime-jobs.ipynb"), lesson("long-polling", "notebooks/06-files-realtime-jobs.ipynb")],
    },
    Chapter {
        title: "Interview scenarios",
        lessons: &[
            lesson("mega-proxy", "notebooks/03-hot-spots-and-carts.ipynb"),
            lesson("rate-limits", "notebooks/04-rate-limits.ipynb"),
            lesson("long-jobs", "notebooks/06-files-realtime-jobs.ipynb"),
        ],
    },
    Chapter { title: "Scaling", lessons: &[lesson("autoscaling", "notebooks/07-autoscaling.ipynb")] },
    Chapter {
        title: "Load balancing",
        lessons: &[
            lesson("load-balancing", "notebooks/05-load-balancing-and-sweeps.ipynb"),
            lesson("stale-load", "notebooks/05-load-balancing-and-sweeps.ipynb"),
        ],
    },
];

/// Every lesson in playbook order, with its chapter.
pub fn lessons() -> impl Iterator<Item = (&'static Chapter, &'static Lesson)> {
    CHAPTERS.iter().flat_map(|c| c.lessons.iter().map(move |l| (c, l)))
}

/// The chapter and lesson of a model, if the playbook has it.
pub fn find(model: &str) -> Option<(&'static Chapter, &'static Lesson)> {
    lessons().find(|(_, l)| l.model == model)
}

/// A chapter's number in the playbook, from 1 (chapters are told apart by title).
pub fn chapter_number(chapter: &Chapter) -> usize {
    CHAPTERS.iter().position(|c| c.title == chapter.title).expect("a chapter of the playbook") + 1
}

/// Where a model goes in playbook order: its lesson's position, or after every lesson.
pub fn rank(model: &str) -> usize {
    lessons().position(|(_, l)| l.model == model).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_model_has_one_lesson() {
        for b in crate::bundled::MODELS {
            assert_eq!(lessons().filter(|(_, l)| l.model == b.name).count(), 1, "{}", b.name);
        }
        assert_eq!(lessons().count(), crate::bundled::MODELS.len());
        assert_eq!(rank("crash-test"), 0);
        assert_eq!(rank("my-own-model"), usize::MAX);
    }
}
