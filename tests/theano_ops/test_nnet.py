"""Neural-network ops against Theano: softmax and log-softmax, conv2d (border modes valid/full/half/
ints, strides, flipped or not, dilation, groups; the old ``nnet.conv.conv2d``), pool_2d (max and both
averages, ignore_border both ways, strides, padding, inputs of 3 to 5 axes) and batch normalization."""
from hypothesis import strategies as st

from tests.theano_ops.harness import draw_family, knowns, operand, parity_test

TEMPLATES = ["softmax", "logsoftmax", "softmax_1d", "logsoftmax_1d", "conv2d", "conv2d", "conv2d", "conv2d_dilated", "conv2d_groups",
             "conv2d_old", "pool", "pool", "pool", "pool_rank", "bn", "bn_test"]


def _conv_out(n, k, s, p, d):
    return (n + 2 * p - ((k - 1) * d + 1)) // s + 1


@st.composite
def examples(draw, template):
    if "softmax" in template:
        shape = [draw(st.integers(1, 5))] if template.endswith("_1d") else [draw(st.integers(1, 3)), draw(st.integers(1, 6))]
        fn = template.split("_")[0]
        scale = draw(st.sampled_from(["", " * 10"]))
        return {"code": f"lambda x: T.nnet.{fn}(x{scale})", "inputs": [operand(shape, "float32", None, draw(knowns(shape)))]}
    if template.startswith("conv2d"):
        groups = draw(st.integers(1, 2)) if template == "conv2d_groups" else 1
        c = groups * draw(st.integers(1, 2))
        f = groups * draw(st.integers(1, 3))
        x = [draw(st.integers(1, 2)), c, draw(st.integers(3, 8)), draw(st.integers(3, 8))]
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        w = [f, c // groups, kh, kw]
        dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if template == "conv2d_dilated" else (1, 1)
        mode = draw(st.sampled_from(["'valid'", "'full'", "'half'", "int", "pair"]))
        if template == "conv2d_old":
            mode = draw(st.sampled_from(["'valid'", "'full'"]))
        if mode == "int":
            mode = str(draw(st.integers(0, 2)))
        elif mode == "pair":
            mode = repr((draw(st.integers(0, 2)), draw(st.integers(0, 2))))
        sub = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        pads = {"'valid'": (0, 0), "'full'": ((kh - 1) * dil[0], (kw - 1) * dil[1]),
                "'half'": (((kh - 1) * dil[0] + 1) // 2, ((kw - 1) * dil[1] + 1) // 2)}.get(mode)
        if pads is None:
            pads = eval(mode) if mode.startswith("(") else (int(mode), int(mode))
        if min(_conv_out(x[2], kh, sub[0], pads[0], dil[0]), _conv_out(x[3], kw, sub[1], pads[1], dil[1])) < 1:
            mode, pads = "'full'", ((kh - 1) * dil[0], (kw - 1) * dil[1])
        if template == "conv2d_old":
            code = f"T.nnet.conv.conv2d(x, w, border_mode={mode}, subsample={sub})"
        else:
            code = (f"T.nnet.conv2d(x, w, border_mode={mode}, subsample={sub}, filter_flip={draw(st.booleans())}, "
                    f"filter_dilation={dil}" + (f", num_groups={groups})" if groups > 1 else ")"))
        return {"code": f"lambda x, w: {code}", "inputs": [operand(x, "float32", None, draw(knowns(x))),
                                                           operand(w, "float32")]}
    if template.startswith("pool"):
        rank = draw(st.integers(3, 5)) if template == "pool_rank" else 4
        x = [draw(st.integers(1, 2)) for _ in range(rank - 2)] + [draw(st.integers(2, 7)), draw(st.integers(2, 7))]
        ws = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        ignore = draw(st.booleans())
        stride = draw(st.sampled_from([None, (1, 1), (2, 2), (1, 2), (3, 2)]))
        pad = (draw(st.integers(0, ws[0] - 1)), draw(st.integers(0, ws[1] - 1))) if ignore else (0, 0)
        if ignore and any(n + 2 * p < k for n, p, k in zip(x[-2:], pad, ws)):
            ignore, pad = False, (0, 0)
        mode = draw(st.sampled_from(["max", "average_inc_pad", "average_exc_pad"]))
        code = f"pool.pool_2d(x, ws={ws}, ignore_border={ignore}, stride={stride}, pad={pad}, mode={mode!r})"
        return {"code": f"lambda x: {code}", "inputs": [operand(x, "float32", None, draw(knowns(x)))]}
    x = [draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    p = [4, x[1]]
    b = ".dimshuffle('x', 0, 'x', 'x')"
    if template == "bn":
        code = f"T.nnet.bn.batch_normalization(x, p[0]{b}, p[1]{b}, p[2]{b}, (abs(p[3]) + 0.5){b})"
    else:
        code = f"T.nnet.bn.batch_normalization_test(x, p[0]{b}, p[1]{b}, p[2]{b}, abs(p[3]){b}, axes='spatial', epsilon=1e-3)"
    return {"code": f"lambda x, p: {code}", "inputs": [operand(x, "float32", None, draw(knowns(x))), operand(p, "float32")]}


SPECS = draw_family("nnet", TEMPLATES, examples, per=3)


test_matches_theano = parity_test(SPECS)


# transposed convolutions: AbstractConv2d_gradInputs applied directly (improved-gan's Deconv2DLayer), Theano's
# conv2d_grad_wrt_inputs and conv2d_transpose; image sizes constant or symbolic, strides leaving rows over
DECONV_TEMPLATES = ["op", "op", "op_symbolic", "grad_wrt_inputs", "transpose", "groups"]


@st.composite
def deconv_examples(draw, template):
    groups = 2 if template == "groups" else 1
    f, c = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))  # input (topgrad) and image channels
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if template == "op" else (1, 1)
    sub = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    mode = draw(st.sampled_from(["'valid'", "'full'", "'half'", "int", "pair"]))
    if mode == "int":
        mode = str(draw(st.integers(0, 2)))
    elif mode == "pair":
        mode = repr((draw(st.integers(0, 2)), draw(st.integers(0, 2))))
    dk = ((kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1)
    pads = {"'valid'": (0, 0), "'full'": (dk[0] - 1, dk[1] - 1), "'half'": (dk[0] // 2, dk[1] // 2)}.get(mode)
    if pads is None:
        pads = eval(mode) if mode.startswith("(") else (int(mode), int(mode))
    image = []
    for k, s, p in zip(dk, sub, pads):  # an image size whose convolution gives an input of at least 1
        n = draw(st.integers(max(1, k - 2 * p), k - 2 * p + 3 * s + 2))
        image.append(n)
    x = [draw(st.integers(1, 2)), f] + [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(image, dk, sub, pads)]
    w = [f, c // groups, kh, kw]
    flip = draw(st.booleans())
    kw_args = f"border_mode={mode}, subsample={sub}, filter_flip={flip}, filter_dilation={dil}, num_groups={groups}"
    if template in ("op", "groups"):
        code = (f"T.nnet.abstract_conv.AbstractConv2d_gradInputs(imshp={(None, c) + tuple(image)}, kshp={tuple(w)}, "
                f"{kw_args})(w, x, {tuple(image)})")
    elif template == "op_symbolic":  # the image's sizes computed from the input's (as Lasagne's layers do)
        code = (f"T.nnet.abstract_conv.AbstractConv2d_gradInputs({kw_args})"
                f"(w, x, (x.shape[2] * {sub[0]} + {image[0] - x[2] * sub[0]}, x.shape[3] * {sub[1]} + "
                f"{image[1] - x[3] * sub[1]}))")
    elif template == "grad_wrt_inputs":
        code = (f"T.nnet.abstract_conv.conv2d_grad_wrt_inputs(x, w, (None, None, x.shape[2] * {sub[0]} + "
                f"{image[0] - x[2] * sub[0]}, {image[1]}), {kw_args})")
    else:
        code = f"T.nnet.conv2d_transpose(x, w, (None, None) + {tuple(image)}, border_mode={mode}, input_dilation={sub}, filter_flip={flip})"
    return {"code": f"lambda x, w: {code}", "inputs": [operand(x, "float32", None, draw(knowns(x))),
                                                       operand(w, "float32")]}


DECONV_SPECS = draw_family("deconv", DECONV_TEMPLATES, deconv_examples, per=3)


test_transposed_conv_matches_theano = parity_test(DECONV_SPECS)


# Theano's bilinear_upsampling (cyclegan-lasagne): integer ratios, the 1-d kernels or the 2-d one
@st.composite
def bilinear_examples(draw, use_1d):
    x = [draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 5))]
    ratio = draw(st.integers(1, 4))
    sizes = f", batch_size={x[0]}, num_input_channels={x[1]}" if draw(st.booleans()) else ""
    code = (f"lambda x: T.nnet.abstract_conv.bilinear_upsampling(x, {ratio}{sizes}, use_1D_kernel={use_1d})"
            + draw(st.sampled_from(["", " * 2 - x.mean()"])))
    return {"code": code, "inputs": [operand(x, "float32", None, draw(knowns(x)))]}


BILINEAR_SPECS = draw_family("bilinear", [True, False], bilinear_examples, per=5)


test_bilinear_upsampling_matches_theano = parity_test(BILINEAR_SPECS)
