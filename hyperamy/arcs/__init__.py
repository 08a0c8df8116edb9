"""Emotion arcs: how feeling moves through an index, in document order or along a field.

Each document (or, for an entity, each mention) contributes its per-label intensity: strength x
probability, summed into the chosen label set's classes, on a 0-1 scale (0: not felt; 1: felt
with full strength and certainty). Neutral is never felt, so it has no curve. With the label set
"vad" it contributes its valence, arousal and dominance instead, on EmoBank's 1-5 scale (3 neutral).

Two kinds of arc:
- in index order (no `by`): the mean over a centred window of documents (or mentions), sampled
  at evenly spaced points. An entity's arc breaks where it goes unmentioned for a long stretch
  (a gap, not a line drawn across it), and its windows never reach across such a gap.
- along a field (`by`): one point per chapter, date bin or value, the mean of the documents (or
  mentions) there; a chapter or date with none is a gap. Numbers that are whole (chapters) give
  a point for every number between the first and the last; dates are grouped by day, week, month
  or year (`bin`, by default the finest giving at most `points` points); other values (a book's
  source) one point each. `smooth` averages each point with its neighbours and says so.

arc.py is what an arc is; reading.py reads one off an index; axes.py lays out a field's axis;
plot.py draws it.
"""
from hyperamy.arcs.arc import AFFECT_LABELS, AFFECT_SCALE, SCALE, Arc
from hyperamy.arcs.axes import BINS
from hyperamy.arcs.reading import arc

__all__ = ["AFFECT_LABELS", "AFFECT_SCALE", "Arc", "BINS", "SCALE", "arc"]
