"""Builds the spaCy ``zh`` pipeline (jieba segmenter + EntityRuler from the catalogue) to disk."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Set

logger = logging.getLogger(__name__)


def load_jieba_dictionaries(dictionary_dir: Path) -> None:
    """The same user dictionaries Rasa's JiebaTokenizer loads, so both cut words alike."""
    import jieba

    for path in sorted(dictionary_dir.glob("*")):
        if path.is_file():
            jieba.load_userdict(str(path))


def build_pipeline(terms: Dict[str, Set[str]], dictionary_dir: Path, output_dir: Path) -> int:
    import spacy

    load_jieba_dictionaries(dictionary_dir)
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True})
    patterns = []
    for label, words in sorted(terms.items()):
        for word in sorted(words, key=lambda w: (-len(w), w)):
            patterns.append({"label": label, "pattern": word})
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]  # add_pipe is typed as Pipe; this one is an EntityRuler
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    logger.info("spaCy zh pipeline with %d patterns written to %s", len(patterns), output_dir)
    return len(patterns)
