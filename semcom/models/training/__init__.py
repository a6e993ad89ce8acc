"""Training loops. Each returns a trained model and a history (the model card's curve)."""

from semcom.models.training.common import TrainConfig, resolve_device
from semcom.models.training.classifier import ClassifierTrainConfig, train_classifier
from semcom.models.training.codec import train_codec

__all__ = ["TrainConfig", "ClassifierTrainConfig", "resolve_device", "train_classifier", "train_codec"]
