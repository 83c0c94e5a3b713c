"""Tagging help: suggest Kyoto paragraphs, ICCS categories and population groups for a text.

A focal point who uploads a good practice, or the secretariat filing a
submission, should not have to know the Declaration's paragraph numbers or
the ICCS by heart. :func:`suggest_tags` ranks candidates for a person to
confirm; it never tags anything by itself.

Method. Each candidate is described by a short reference text:

* a Kyoto paragraph by our title and summary and the heading of the thematic
  discussion topic that covered it (the paragraphs with a summary: pillar I,
  21-30, and the follow-up paragraph 96);
* an ICCS level-2 category by several texts: its label, the label of each
  category below it and each index term that codes into it; the category
  scores as its best-matching text;
* a population group by a short list of words people use for it (below).

Texts are cut into words, stop words dropped and words reduced to a crude
stem ("children" -> "child", "trafficked" -> "traffick"), then weighted by
TF-IDF (sublinear term frequency, smoothed inverse document frequency computed
over the candidates of the same kind) and compared by cosine similarity. The
score is that cosine, from 0 to 1.

Why hand-written: TF-IDF over a few hundred short reference texts is a dozen
lines of NumPy, while scikit-learn's ``TfidfVectorizer`` would add a large
dependency for one call. Character-level fuzzy matching (``rapidfuzz``) does
not weight rare, telling words ("confiscation") above common ones ("crime"),
which is what ranking needs here.

Examples
--------
>>> found = suggest_tags(
...     "A programme that supports girls and women who survived domestic violence "
...     "and intimate partner abuse, with shelters and protection orders."
... )
>>> found.paragraphs[0].key, found.paragraphs[0].label
('28', 'Domestic violence')
>>> found.population_groups[0].key
'women_and_girls'
>>> suggest_tags("Reducing burglary by better street lighting").iccs[0].label
'Burglary'
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

import numpy as np

from crimeprev.errors import InvalidInputError, NotFoundError
from crimeprev.standards import iccs, kyoto

__all__ = [
    "POPULATION_GROUPS",
    "PopulationGroup",
    "Suggestion",
    "TagSuggestions",
    "population_group",
    "stem",
    "suggest_tags",
    "tokenise",
]


@dataclass(frozen=True)
class PopulationGroup:
    """A population group a practice or commitment may address.

    Attributes
    ----------
    key : str
        Stable identifier, e.g. ``"children"``.
    label : str
        Name shown to people.
    words : str
        Words and phrases that signal the group in a text.
    """

    key: str
    label: str
    words: str


#: The population groups offered for tagging: those the Declaration and the
#: thematic discussions single out, and the groups prevention practice targets.
POPULATION_GROUPS: tuple[PopulationGroup, ...] = (
    PopulationGroup(
        "women_and_girls",
        "Women and girls",
        "women woman girls girl female gender mothers wives femicide "
        "gender-based violence against women intimate partner",
    ),
    PopulationGroup(
        "children",
        "Children",
        "children child childhood minors infants pupils schoolchildren boys girls "
        "orphans child protection",
    ),
    PopulationGroup(
        "youth",
        "Youth",
        "youth young people adolescents teenagers juveniles juvenile students "
        "gangs young offenders",
    ),
    PopulationGroup(
        "older_persons",
        "Older persons",
        "older persons elderly aged seniors pensioners elder abuse",
    ),
    PopulationGroup(
        "persons_with_disabilities",
        "Persons with disabilities",
        "disability disabilities disabled impairment impaired accessibility",
    ),
    PopulationGroup(
        "migrants_and_refugees",
        "Migrants and refugees",
        "migrants migrant refugees refugee asylum seekers displaced persons "
        "smuggled migrants stateless",
    ),
    PopulationGroup(
        "indigenous_peoples",
        "Indigenous peoples",
        "indigenous peoples tribal communities first nations aboriginal",
    ),
    PopulationGroup(
        "victims",
        "Victims and witnesses",
        "victims victim survivors witnesses victimization victim support compensation",
    ),
    PopulationGroup(
        "offenders_and_prisoners",
        "Offenders and prisoners",
        "offenders offender prisoners prison inmates detainees ex-offenders "
        "reintegration rehabilitation recidivism reoffending probation parole",
    ),
    PopulationGroup(
        "lgbti_persons",
        "LGBTI persons",
        "lgbti lgbt lesbian gay bisexual transgender intersex sexual orientation gender identity",
    ),
    PopulationGroup(
        "minorities",
        "Ethnic and religious minorities",
        "minorities minority ethnic religious racial discrimination hate",
    ),
    PopulationGroup(
        "communities",
        "Local communities and neighbourhoods",
        "community communities neighbourhood neighborhood residents local "
        "municipality city urban rural villages",
    ),
)


def population_group(key: str) -> PopulationGroup:
    """Return a population group by its key.

    Raises
    ------
    NotFoundError
        If `key` names no group.

    Examples
    --------
    >>> population_group("youth").label
    'Youth'
    """
    for group in POPULATION_GROUPS:
        if group.key == key:
            return group
    valid = [group.key for group in POPULATION_GROUPS]
    raise NotFoundError(
        f"no population group {key!r}; expected one of {', '.join(valid)}",
        received=key,
        valid=valid,
    )


_STOP_WORDS = frozenset(
    re.split(
        r"\s+",
        """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours ourselves out over own same she should so some such than that
    the their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves country countries national state states government
    including include includes e g etc per new use used using way ways within well
    programme programmes program programs project projects initiative initiatives
    training trained train""",
    )
)

# Irregular plurals the suffix rules below would miss.
_IRREGULAR = {
    "children": "child",
    "women": "woman",
    "men": "man",
    "people": "person",
    "peoples": "person",
    "persons": "person",
    "wives": "wife",
    "lives": "life",
}


def stem(word: str) -> str:
    """Reduce a lower-case word to a crude stem so that word forms match.

    A few suffix rules, not a full Porter stemmer: plurals, "-ing" and "-ed".
    Both sides of a comparison go through the same rules, so the stems only
    need to be consistent, not dictionary words.

    Examples
    --------
    >>> [stem(w) for w in ["children", "victims", "policies", "trafficked", "trafficking"]]
    ['child', 'victim', 'policy', 'traffick', 'traffick']
    >>> [stem(w) for w in ["businesses", "witnesses", "churches", "boxes", "crimes"]]
    ['business', 'witness', 'church', 'box', 'crime']
    """
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_WORD = re.compile(r"[a-z][a-z0-9]+")


def tokenise(text: str) -> list[str]:
    """Return the stemmed content words of `text`, in order.

    Examples
    --------
    >>> tokenise("The Children's rights, and victims of trafficking!")
    ['child', 'right', 'victim', 'traffick']
    """
    words = _WORD.findall(text.lower().replace("'s", ""))
    return [stem(word) for word in words if word not in _STOP_WORDS]


#: Everyday names of offences that the ICCS words differently, with the ICCS's
#: words added to a text before it is compared with the ICCS categories.
_ICCS_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bhuman trafficking\b|\btrafficked (?:persons|people|women|children)\b", re.I),
     "trafficking in persons"),
    (re.compile(r"\bcyber[- ]?crimes?\b|\bransomware\b|\bmalware\b|\bhack(?:ing|ers?)\b", re.I),
     "computer system computer data"),
    (re.compile(r"\b(?:domestic|family|intimate partner|gender-based) violence\b", re.I),
     "assault"),
)  # fmt: skip


def _with_iccs_words(text: str) -> str:
    """`text` followed by the ICCS's words for the everyday offence names in it.

    Examples
    --------
    >>> _with_iccs_words("Human trafficking and ransomware")
    'Human trafficking and ransomware trafficking in persons computer system computer data'
    """
    added = [words for pattern, words in _ICCS_WORDS if pattern.search(text)]
    return " ".join([text, *added])


@dataclass(frozen=True)
class Suggestion:
    """One suggested tag.

    Attributes
    ----------
    kind : str
        ``"paragraph"``, ``"iccs"`` or ``"population_group"``.
    key : str
        The paragraph number, ICCS code or group key, as text.
    label : str
        What a person reads.
    score : float
        Cosine similarity of the TF-IDF vectors, 0 to 1 (rounded to 4 places).
    matched : tuple of str
        The shared word stems, the most telling first.
    """

    kind: str
    key: str
    label: str
    score: float
    matched: tuple[str, ...]


@dataclass(frozen=True)
class TagSuggestions:
    """Suggestions of each kind, best first."""

    paragraphs: tuple[Suggestion, ...]
    iccs: tuple[Suggestion, ...]
    population_groups: tuple[Suggestion, ...]

    def as_dict(self) -> dict[str, list[dict[str, object]]]:
        """Return the suggestions as JSON-ready lists."""
        return {
            name: [
                {
                    "kind": item.kind,
                    "key": item.key,
                    "label": item.label,
                    "score": item.score,
                    "matched": list(item.matched),
                }
                for item in getattr(self, name)
            ]
            for name in ("paragraphs", "iccs", "population_groups")
        }


@dataclass(frozen=True)
class _Index:
    kind: str
    keys: tuple[str, ...]
    labels: tuple[str, ...]
    owner: np.ndarray  # for each reference text, the position of its candidate
    vocabulary: dict[str, int]
    idf: np.ndarray
    matrix: np.ndarray  # reference texts x vocabulary, rows L2-normalised


def _weights(counts: Counter[str], vocabulary: dict[str, int], idf: np.ndarray) -> np.ndarray:
    vector = np.zeros(len(vocabulary))
    for word, count in counts.items():
        position = vocabulary.get(word)
        if position is not None:
            vector[position] = (1.0 + math.log(count)) * idf[position]
    return vector


def _build_index(kind: str, entries: list[tuple[str, str, list[str]]]) -> _Index:
    owner = [position for position, (_, _, texts) in enumerate(entries) for _ in texts]
    documents = [Counter(tokenise(text)) for _, _, texts in entries for text in texts]
    vocabulary = {word: i for i, word in enumerate(sorted(set().union(*documents)))}
    # Document frequency counts candidates, not texts: a word that recurs in
    # many index terms of one category ("burglary") is what tells it apart.
    frequency = np.zeros(len(vocabulary))
    for _, _, texts in entries:
        for word in set(tokenise(" ".join(texts))):
            frequency[vocabulary[word]] += 1
    # Smoothed IDF: as if one extra candidate held every word, so no weight is zero.
    idf = np.log((1 + len(entries)) / (1 + frequency)) + 1.0
    matrix = np.vstack([_weights(counts, vocabulary, idf) for counts in documents])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.where(norms == 0, 1.0, norms)
    return _Index(
        kind=kind,
        keys=tuple(key for key, _, _ in entries),
        labels=tuple(label for _, label, _ in entries),
        owner=np.asarray(owner, dtype=np.int64),
        vocabulary=vocabulary,
        idf=idf,
        matrix=matrix,
    )


@cache
def _paragraph_index() -> _Index:
    entries = [
        (
            str(item.number),
            item.title or "",
            [" ".join(part for part in (item.title, item.summary, item.topic) if part)],
        )
        for item in kyoto.paragraphs()
        if item.summary
    ]
    return _build_index("paragraph", entries)


@cache
def _iccs_index() -> _Index:
    # Each label and index term is its own reference text: one long text per
    # category would let categories with many index terms (0101 has a dozen
    # kinds of killing) lose to narrow neighbours through the length norm.
    texts: dict[str, list[str]] = {item.code: [item.label] for item in iccs.codes(level=2)}
    for item in iccs.codes():
        if item.level > 2:
            texts[item.code[:4]].append(item.label)
    for term in iccs.index_terms():
        if term.code and len(term.code) >= 4 and term.code[:4] in texts:
            texts[term.code[:4]].append(term.term)
    entries = [(code, iccs.get(code).label, parts) for code, parts in texts.items()]
    return _build_index("iccs", entries)


@cache
def _group_index() -> _Index:
    entries = [
        (group.key, group.label, [f"{group.label} {group.words}"]) for group in POPULATION_GROUPS
    ]
    return _build_index("population_group", entries)


def _rank(
    index: _Index, counts: Counter[str], limit: int, minimum: float
) -> tuple[Suggestion, ...]:
    query = _weights(counts, index.vocabulary, index.idf)
    norm = float(np.linalg.norm(query))
    if norm == 0.0:
        return ()
    text_scores = index.matrix @ (query / norm)
    # A candidate scores as its best reference text.
    scores = np.zeros(len(index.keys))
    np.maximum.at(scores, index.owner, text_scores)
    best_text = np.full(len(index.keys), -1)
    for position in np.argsort(text_scores, kind="stable"):
        best_text[index.owner[position]] = position  # ascending: the best one is written last
    order = np.lexsort((np.arange(len(scores)), -scores))
    found = []
    for position in order[:limit]:
        score = float(scores[position])
        if score < minimum or score <= 0.0:
            break
        row = index.matrix[best_text[position]]
        shared = [
            (row[index.vocabulary[word]] * query[index.vocabulary[word]], word)
            for word in counts
            if word in index.vocabulary and row[index.vocabulary[word]] > 0
        ]
        shared.sort(key=lambda pair: (-pair[0], pair[1]))
        found.append(
            Suggestion(
                kind=index.kind,
                key=index.keys[position],
                label=index.labels[position],
                score=round(score, 4),
                matched=tuple(word for _, word in shared),
            )
        )
    return tuple(found)


def suggest_tags(text: str, *, limit: int = 5, minimum_score: float = 0.05) -> TagSuggestions:
    """Suggest Kyoto paragraphs, ICCS categories and population groups for `text`.

    Parameters
    ----------
    text : str
        A practice summary, a submission answer or a document's text.
    limit : int, default=5
        At most this many suggestions of each kind.
    minimum_score : float, default=0.05
        Drop suggestions whose cosine similarity is below this.

    Returns
    -------
    TagSuggestions
        Ranked suggestions of each kind (possibly empty), for a person to confirm.

    Raises
    ------
    InvalidInputError
        If `text` is not a string, `limit` is not positive or `minimum_score`
        is outside [0, 1].

    Examples
    --------
    >>> found = suggest_tags("Confiscating the proceeds of crime and managing seized assets")
    >>> [item.key for item in found.paragraphs[:2]]
    ['25', '24']
    >>> suggest_tags("   ").paragraphs
    ()
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"text must be a string, got {type(text).__name__}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError(f"limit must be a positive integer, got {limit!r}")
    if not 0.0 <= minimum_score <= 1.0:
        raise InvalidInputError(f"minimum_score must be between 0 and 1, got {minimum_score!r}")
    counts = Counter(tokenise(text))
    # The ICCS's own words for what prevention texts call otherwise count for ICCS only.
    iccs_counts = Counter(tokenise(_with_iccs_words(text)))
    return TagSuggestions(
        paragraphs=_rank(_paragraph_index(), counts, limit, minimum_score),
        iccs=_rank(_iccs_index(), iccs_counts, limit, minimum_score),
        population_groups=_rank(_group_index(), counts, limit, minimum_score),
    )
