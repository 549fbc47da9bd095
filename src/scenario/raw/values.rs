//! Values shared by every section: distributions, and durations that can be "off".

use crate::scenario::units::{Duration, parse_duration};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor, value::MapAccessDeserializer};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A duration, or "off".
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DurationOrOff {
    Off,
    On(Duration),
}

impl<'de> Deserialize<'de> for DurationOrOff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationOrOff;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration like \"30s\" or \"off\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationOrOff, E> {
                if v == "off" {
                    return Ok(DurationOrOff::Off);
                }
                parse_duration(v).map(|d| DurationOrOff::On(Duration(d))).map_err(|m| E::custom(format!("{m}; write a duration like \"30s\" or \"off\"")))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for DurationOrOff {
    fn schema_name() -> Cow<'static, str> {
        "DurationOrOff".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({ "anyOf": [g.subschema_for::<Duration>(), { "const": "off" }] })
    }
}

/// A distribution of a quantity `Q`: a plain value (constant) or a table with `dist`.
#[derive(Debug, Clone)]
pub enum RawDist<Q> {
    Fixed(Q),
    Spec(RawDistSpec<Q>),
}

/// The distributions a model can name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawDistSpec<Q> {
    /// Always `value`.
    Constant { value: Q },
    /// Memoryless, with this mean.
    Exponential { mean: Q },
    /// Uniform between `min` and `max`.
    Uniform { min: Q, max: Q },
    /// Log-normal with this mean and coefficient of variation (stddev / mean, >= 0).
    Lognormal { mean: Q, cv: f64 },
    /// One of `values`, with `weights` (default: equal).
    Empirical { values: Vec<Q>, weights: Option<Vec<f64>> },
}

impl<'de, Q: Deserialize<'de>> Deserialize<'de> for RawDist<Q> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<Q>(PhantomData<Q>);
        impl<'de, Q: Deserialize<'de>> Visitor<'de> for V<Q> {
            type Value = RawDist<Q>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value like \"15ms\" or a table like { dist = \"exponential\", mean = \"15ms\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Q::deserialize(de::value::StrDeserializer::<E>::new(v)).map(RawDist::Fixed)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Q::deserialize(de::value::I64Deserializer::<E>::new(v)).map(RawDist::Fixed)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Q::deserialize(de::value::U64Deserializer::<E>::new(v)).map(RawDist::Fixed)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Q::deserialize(de::value::F64Deserializer::<E>::new(v)).map(RawDist::Fixed)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawDistSpec::deserialize(MapAccessDeserializer::new(map)).map(RawDist::Spec)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<Q: JsonSchema> JsonSchema for RawDist<Q> {
    fn schema_name() -> Cow<'static, str> {
        format!("Distribution_of_{}", Q::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A constant written as a plain value, or a table naming `dist`.",
            "anyOf": [g.subschema_for::<Q>(), g.subschema_for::<RawDistSpec<Q>>()]
        })
    }
}
