"""Chinese NLP assets: the shop's jieba dictionary and the spaCy zh pipeline with its EntityRuler."""
