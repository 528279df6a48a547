"""Language tags (BCP 47), one way everywhere: normalised, ordered for a reader, read right to left.

Every tag the directory stores or compares goes through :func:`normalised_tag`: ``langcodes``
canonicalises it as BCP 47 and CLDR say (case, deprecated and overlong codes: ``NOB`` → ``nb``,
``iw`` → ``he``, ``prs`` → ``fa-AF``, a script that goes without saying dropped), then two rules
of this project's: the macrolanguage ``no`` is written ``nb`` (Norwegian text without a written
standard named is Bokmål in practice, and the directory's data says ``nb``), and a region or
script that is the language's likely one is dropped (CLDR's "remove likely subtags": ``nb-NO``
→ ``nb``, ``fa-IR`` → ``fa``), so that ``no``, ``NO`` and ``nb-NO`` are one language. A region
that says something stays: ``fa-AF`` is Dari, ``en-GB`` is not ``en``.

:func:`reading_order` turns a reader's languages into the tags to look for, in order (the
fallback rule, docs/languages.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import langcodes

#: The language the directory's original texts are written in (titles, descriptions, labels).
ORIGINAL_LANGUAGE = "nb"
#: Languages a reader of one also reads, when neither it nor its wider tag has a text
#: (the issue's "Norwegian Nynorsk → Bokmål"): checked after the tag and its truncations.
ALSO_READS: dict[str, tuple[str, ...]] = {"nn": ("nb",)}
#: Scripts written right to left (ISO 15924), for the answer's ``rightToLeft``.
RIGHT_TO_LEFT_SCRIPTS = frozenset(
    {"Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand", "Samr", "Mend"}
)
MAX_TAG_LENGTH = 35  # RFC 5646 §4.4.1: a tag a program must be able to hold
#: PostgreSQL's text-search configurations (stemming, stop words) for the languages the
#: directory's readers use that have one, by language subtag; any other language's text is
#: indexed with ``simple`` over lower-cased, unaccented text. The text filter's query is parsed
#: with each of these, so a word is found stemmed in whatever language it was written in.
#: Migration 0005 wrote this table into ``hverdag_ts_config()``: change both together.
TEXT_SEARCH_CONFIGS: dict[str, str] = {
    "nb": "norwegian",
    "nn": "norwegian",
    "ar": "arabic",
    "en": "english",
    "ru": "russian",
    "lt": "lithuanian",
    "es": "spanish",
    "tr": "turkish",
    "de": "german",
    "fr": "french",
}


class LanguageTagError(ValueError):
    """Not a BCP 47 tag of a known language: the reason, for the caller to name the field."""


@lru_cache(maxsize=1024)
def normalised_tag(value: str) -> str:
    """The canonical tag for ``value``, or :class:`LanguageTagError`."""
    text = value.strip().replace("_", "-")
    if not text or len(text) > MAX_TAG_LENGTH or not langcodes.tag_is_valid(text):
        raise LanguageTagError(f"{value!r} is not a BCP 47 language tag of a known language")
    language = langcodes.Language.get(langcodes.standardize_tag(text))
    if language.language in (None, "und") or language.language.startswith(("x-", "i-")):
        raise LanguageTagError(f"{value!r} names no language")
    if not language.is_valid():
        raise LanguageTagError(f"{value!r} names no language")
    if language.language == "no":
        language = language.update_dict({"language": "nb"})
    return _without_likely_subtags(language).to_tag()


def _without_likely_subtags(language: langcodes.Language) -> langcodes.Language:
    """The shortest of language, language-script, language-region that maximizes the same
    (CLDR's remove-likely-subtags), keeping variants and extensions."""
    if language.script is None and language.territory is None:
        return language
    likely = language.maximize()
    for script, region in ((None, None), (None, language.territory), (language.script, None)):
        trial = language.update_dict({"script": script, "territory": region})
        if trial.maximize() == likely:
            return trial
    return language


def normalised_tags(values: Iterable[str]) -> list[str]:
    """Each tag normalised, duplicates after normalisation dropped, order kept."""
    return list(dict.fromkeys(normalised_tag(value) for value in values))


@lru_cache(maxsize=256)
def reading_order(wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The tags to look for, best first, for a reader of ``wanted`` (normalised tags, in the
    reader's order): each tag, then its wider tags (``fa-AF`` → ``fa``: RFC 4647 lookup), then
    what its readers also read (``nn`` → ``nb``). The chain ends at the original's language:
    from there the original text is the answer."""
    order: list[str] = []
    for tag in wanted:
        for candidate in (*_truncations(tag), *ALSO_READS.get(tag.split("-")[0], ())):
            if candidate not in order:
                order.append(candidate)
    if ORIGINAL_LANGUAGE in order:
        del order[order.index(ORIGINAL_LANGUAGE) :]
    return tuple(order)


def _truncations(tag: str) -> list[str]:
    """``zh-Hant-TW`` → ``zh-Hant-TW``, ``zh-Hant``, ``zh`` (private-use and one-letter
    singletons go with what follows them)."""
    parts = tag.split("-")
    out = []
    while parts:
        out.append("-".join(parts))
        parts.pop()
        while parts and len(parts[-1]) == 1:
            parts.pop()
    return out


@lru_cache(maxsize=256)
def right_to_left(tag: str) -> bool:
    """Whether text in ``tag`` is written right to left (its likely script's direction)."""
    try:
        script = langcodes.Language.get(tag).maximize().script
    except langcodes.tag_parser.LanguageTagError:
        return False
    return script in RIGHT_TO_LEFT_SCRIPTS


def first_available(order: Sequence[str], available: Iterable[str]) -> str | None:
    """The first tag of ``order`` among ``available``, or None (the original then)."""
    have = set(available)
    return next((tag for tag in order if tag in have), None)
