"""Files the pages offer: a dataset's exact stored bytes, and the votes an analysis dropped
(with their content) as CSV."""

from __future__ import annotations

import csv
import io

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from registry import selectors
from registry.claim_page import claim_dropped_votes, flip_votes
from registry.vote_lookup import votes_content


def dataset_download(request: HttpRequest, pk: int) -> FileResponse:
    """The bytes exactly as uploaded (their SHA-256 is on the page and in the header)."""
    dataset = get_object_or_404(selectors.dataset_list(), pk=pk)
    stored = dataset.file
    response = FileResponse(
        stored.content.open("rb"),
        as_attachment=True,
        filename=dataset.original_filename or f"dataset-{dataset.pk}-{stored.sha256[:12]}",
        content_type=stored.media_type,
    )
    response["X-Content-SHA256"] = stored.sha256
    return response


def dropped_votes_csv(request: HttpRequest, pk: int, flip: str) -> HttpResponse:
    """The votes one flip search dropped (``claim``, ``top_k-1``, ``adjacent-3``...), one
    row each: vote id, both models, the winner as in the file and by name."""
    # Imported on use: registry.cloning loads SciPy (about a second).
    from registry.cloning.querylog import spreadsheet_safe

    analysis = get_object_or_404(selectors.analysis_list(), pk=pk)
    vote_ids = flip_votes(analysis, flip)
    if vote_ids is None:
        raise Http404(f"Analysis {pk} has no flip search {flip!r}.")
    votes = (
        claim_dropped_votes(analysis)
        if flip == "claim"
        else votes_content(analysis.dataset, vote_ids)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["vote", "model_a", "model_b", "winner", "winner_model"])
    for vote in votes:
        cells = [vote.vote, vote.model_a, vote.model_b, vote.winner, vote.winner_model]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"analysis-{analysis.pk}-{flip}-dropped-votes.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
