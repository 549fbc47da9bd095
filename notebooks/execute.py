"""Execute the notebooks in this folder; scripts/notebooks.sh calls it inside notebooks/.venv.

    python notebooks/execute.py [NOTEBOOK...]          execute in place (the committed outputs)
    python notebooks/execute.py --check [NOTEBOOK...]  execute into a temporary copy; fail on any error,
                                                       and when the committed outputs differ from the run

Notebooks run with notebooks/ as the working directory, as in Jupyter. Run-to-run noise
(execution timestamps) is not recorded, so re-executing an unchanged notebook against the
same statesim binary rewrites the same bytes.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent


def execute(path, scratch):
    nb = nbformat.read(path, as_version=4)
    # Local sockets in a scratch folder rather than TCP on localhost.
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(scratch) / "kernel"))
    client = NotebookClient(
        nb,
        km=kernel,
        timeout=600,
        record_timing=False,
        resources={"metadata": {"path": str(HERE)}},
    )
    try:
        client.execute()
    finally:
        if kernel.has_kernel:
            kernel.shutdown_kernel(now=True)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    return nb


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="execute into a temporary copy, not in place")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb")
    args = parser.parse_args()
    paths = [p.resolve() for p in args.notebooks] or sorted(HERE.glob("*.ipynb"))
    if not paths:
        sys.exit("no notebooks found")

    failed = []
    stale = []
    with tempfile.TemporaryDirectory(prefix="notebooks-check-") as scratch:
        for path in paths:
            start = time.monotonic()
            try:
                nb = execute(path, scratch)
            except CellExecutionError as error:
                print(f"FAILED  {path.name}\n{error}", file=sys.stderr)
                failed.append(path.name)
                continue
            target = Path(scratch) / path.name if args.check else path
            text = nbformat.writes(nb) + "\n"
            target.write_text(text)
            if args.check and text != path.read_text():
                stale.append(path.name)
            print(f"ok      {path.name} ({time.monotonic() - start:.0f} s)")

    problems = []
    if failed:
        problems.append(f"{len(failed)} notebook(s) failed: " + ", ".join(failed))
    if stale:
        # The committed outputs are what a reader sees without running anything: numbers or
        # charts that the current binary no longer gives are a defect, not a note.
        problems.append("the committed outputs of " + ", ".join(stale) + " differ from this run "
                        "(bash scripts/notebooks.sh refreshes them; commit the result)")
    if problems:
        sys.exit("\n".join(problems))


if __name__ == "__main__":
    main()
