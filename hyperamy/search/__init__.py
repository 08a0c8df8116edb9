"""Search: each leg's candidates, one re-ranker, and hits that explain their scores.

read.py is the path a query takes; ranking.py proposes and orders candidates; hit.py is what
comes back; recency.py fades scores by age."""
from hyperamy.search.hit import Hit
from hyperamy.search.ranking import Candidates, Query, Ranked, candidates, rank, single_threaded
from hyperamy.search.read import search, snippet, without_names
from hyperamy.search.recency import Recency

__all__ = ["Candidates", "Hit", "Query", "Ranked", "Recency", "candidates", "rank", "search", "single_threaded",
           "snippet", "without_names"]
