import torch

from semcom.codecs import LearnedCodec, LearnedCodecConfig, UniformQuantizer, format_for_bits


def test_centers_are_uniform_in_minus_one_one():
    q = UniformQuantizer(5)
    assert torch.allclose(q.centers, torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))
    assert abs(q.step - 0.5) < 1e-12
    assert abs(q.sigma - 2 / 5) < 1e-12  # the paper's sigma = 2/L


def test_hard_indices_are_nearest_center():
    q = UniformQuantizer(4)
    w = torch.linspace(-1.2, 1.2, 1001)
    idx = q.indices(w)
    dist = (w[:, None].clamp(-1, 1) - q.centers[None, :]).abs()
    best = dist.min(dim=1).values
    assert torch.allclose(dist.gather(1, idx[:, None]).squeeze(1), best)


def test_soft_path_tends_to_hard_at_high_sigma():
    w = torch.rand(10000) * 2 - 1
    for levels in (2, 4, 8):
        q = UniformQuantizer(levels, sigma=2000.0)
        hard = q.values(q.indices(w))
        # away from decision boundaries the soft assignment is numerically the hard one
        margin = ((w.unsqueeze(-1) - q.centers).abs().sort(dim=-1).values.diff(dim=-1)[:, 0]) > 0.01
        assert torch.allclose(q.soft(w)[margin], hard[margin], atol=1e-5)
        # at the paper's sigma the soft path is far from hard: the option matters
        assert (UniformQuantizer(levels).soft(w) - hard).abs().max() > 0.1


def test_ste_forward_is_hard_and_gradient_flows():
    q = UniformQuantizer(4).train()
    w = (torch.rand(64, 4) * 2 - 1).requires_grad_()
    out = q(w)
    assert torch.equal(out.detach(), q.values(q.indices(w.detach())))
    out.sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0


def test_codec_encode_decode_shapes_and_range():
    codec = LearnedCodec(LearnedCodecConfig(dim=4, levels=4, width=16)).eval()
    x = torch.rand(5, 1, 28, 28)
    idx = codec.encode(x)
    assert idx.shape == (5, 4) and idx.dtype == torch.int64
    assert int(idx.min()) >= 0 and int(idx.max()) < 4
    out = codec.decode(idx)
    assert out.shape == (5, 1, 28, 28) and float(out.min()) >= 0 and float(out.max()) <= 1
    # decoding is a function of the indices only
    assert torch.equal(codec.decode(idx), codec(x))


def test_format_for_bits_rule():
    assert (format_for_bits(8).dim, format_for_bits(8).levels) == (4, 4)
    assert format_for_bits(12).dim == 6
    assert format_for_bits(12, levels=8).dim == 4
    import pytest

    with pytest.raises(ValueError, match="bits=7"):
        format_for_bits(7)
