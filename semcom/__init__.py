"""semcom: a semantic-communication simulator.

A digit image is encoded by a learned codec into a quantized bitstream, sent over a
noisy or erasure channel, decoded and classified. Three layers:

- core: :mod:`semcom.codecs` (codecs, the eq. 2 quantizer, Table 1/2 networks),
  :mod:`semcom.bitstream`, :mod:`semcom.transceiver`, :mod:`semcom.metrics`,
  :func:`semcom.evaluate` (one point), :mod:`semcom.netsim` and the standalone ``channels``;
- models: :mod:`semcom.models` (codec families and training objectives, training,
  the model store, :mod:`semcom.zoo`);
- application: :mod:`semcom.app` (scenario files, runner, plots, tables, the ``semcom`` command).

A notebook needs only this module::

    import channels, semcom
    images, labels = semcom.mnist_test(data="../shared/data/mnist")
    clf = semcom.zoo.classifier()
    na2 = semcom.zoo.codec("NA2", bits=8)
    m = semcom.evaluate(na2, clf, channels.BinarySymmetric(p=0.01), images, labels)
    print(m.accuracy, m.mse)
"""

__version__ = "0.1.0"

from importlib import import_module as _import_module

# names load on first use: ``import semcom.app.scenario`` (``semcom check``) imports no torch
_EXPORTS = {
    "Codec": "semcom.codecs.base", "LearnedCodec": "semcom.codecs.learned",
    "LearnedCodecConfig": "semcom.codecs.learned", "SymbolFormat": "semcom.codecs.symbols",
    "format_for_bits": "semcom.codecs.symbols", "DigitClassifier": "semcom.codecs.networks",
    "ChannelPoint": "semcom.sweep", "LinkPoint": "semcom.sweep", "PointMetrics": "semcom.evaluation",
    "evaluate": "semcom.evaluation", "FAMILIES": "semcom.models.families", "CodecFamily": "semcom.models.families",
    "register_family": "semcom.models.families", "CodecConfig": "semcom.models.specs",
    "ModelStore": "semcom.models.store", "TrainConfig": "semcom.models.training.config",
    "OBJECTIVES": "semcom.models.training.objectives", "LossWeights": "semcom.models.training.objectives",
    "loss_weights": "semcom.models.training.objectives",
    "register_objective": "semcom.models.training.objectives",
}


def __getattr__(name: str):
    if name == "zoo":
        return _import_module("semcom.models.zoo")
    if name in _EXPORTS:
        return getattr(_import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'semcom' has no attribute {name!r}")


def mnist_test(data=None, limit: int = 0):
    """The official MNIST test set as (images (N, 1, 28, 28) float in [0, 1], labels (N,) int64)."""
    import numpy as np

    from semcom.data import load_dataset, to_float_tensor

    ds = load_dataset("mnist", path=data)
    x, y = ds.test_images, ds.test_labels
    if limit:
        x, y = x[:limit], y[:limit]
    return to_float_tensor(x), np.asarray(y, np.int64)


__all__ = [
    "FAMILIES", "OBJECTIVES", "ChannelPoint", "Codec", "CodecConfig", "CodecFamily", "DigitClassifier",
    "LearnedCodec", "LearnedCodecConfig", "LinkPoint", "LossWeights", "ModelStore", "PointMetrics",
    "SymbolFormat", "TrainConfig", "evaluate", "format_for_bits", "loss_weights", "mnist_test",
    "register_family", "register_objective", "zoo",
]
