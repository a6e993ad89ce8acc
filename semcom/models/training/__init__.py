"""Training loops (each returns a trained model and a history: the model card's curve), their
settings (:mod:`.config`, no torch) and the objectives registry (:mod:`.objectives`)."""
