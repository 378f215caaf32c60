"""Failure clusters: ``redline clusters RUN``."""

from __future__ import annotations

from typing import Annotated

import typer

from redline.commands._common import JsonOption, print_json, writing


def clusters_cmd(
    run: Annotated[str, typer.Argument(help="A finished run's directory (or its name under the runs folder).")],
    as_json: JsonOption = False,
    max_failures: Annotated[int, typer.Option("--max", min=1, help="Most failures clustered per kind; "
                                              "more are sampled at random (seeded).")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed (sample, embedding, clustering).")] = 0,
) -> None:
    """Cluster a run's harmful responses and over-refused benign prompts by content.

    Across categories, and per category (the same clusters, restricted).
    Each cluster: distinctive terms, size, share, 3 representative samples.
    Writes RUN/clusters.json.
    """
    from redline.learn.clusters import cluster_failures
    from redline.learn.runs import load_run

    r = load_run(run)
    d = r.dir
    with writing(d / "clusters.json", "make the run directory writable"):
        result = cluster_failures(r, max_failures=max_failures, seed=seed)
    if as_json:
        print_json(result)
        return
    f = result["failures"]
    typer.echo(f"{f['harmful']} harmful response(s), {f['over_refusal']} over-refusal(s) → {d / 'clusters.json'}")
    if result["note"]:
        typer.echo(f"sampled: {result['note']}")
    for c in result["clusters"]:
        where = c["category"] or "all categories"
        label = "(unclustered)" if c["unclustered"] else c["label"]
        typer.echo(f"{c['id']:>5}  {c['kind']:<12} {where:<24} {c['size']:>6}  {100 * c['share']:5.1f}%  {label}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.command("clusters")(clusters_cmd)
