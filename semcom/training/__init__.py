"""Training loops. Each returns a trained model and a history (the model card's curve)."""

from semcom.training.common import TrainConfig, resolve_device
from semcom.training.classifier import ClassifierTrainConfig, train_classifier
from semcom.training.codec import train_codec

__all__ = ["TrainConfig", "ClassifierTrainConfig", "resolve_device", "train_classifier", "train_codec"]
