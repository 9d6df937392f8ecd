"""Rendering: the fast path equals jinja, math becomes MathML, undefined names fail."""

from __future__ import annotations

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from questions.render import Slots, compile_text, to_plain_text

names = st.sampled_from(["ratio", "advantage", "clip_eps", "kl_coef"])
literals = st.text(alphabet=st.characters(blacklist_characters="{}%#"), max_size=30)
values = st.text(max_size=12)


@given(
    st.lists(st.tuples(literals, names), max_size=6),
    literals,
    st.booleans(),
    st.fixed_dictionaries({n: values for n in ("ratio", "advantage", "clip_eps", "kl_coef")}),
)
def test_fast_path_renders_exactly_like_jinja(pieces, tail, autoescape, context):  # fmt: skip
    source = "".join(f"{lit}{{{{ {name} }}}}" for lit, name in pieces) + tail
    slots = Slots(source, autoescape)
    assert slots.parts is not None  # the fast path was taken
    assert slots.render(context) == slots.template.render(context)


def test_control_flow_goes_through_jinja_and_undefined_names_fail():
    slots = Slots("{% if x %}yes {{ x }}{% endif %}", autoescape=False)
    assert slots.parts is None and slots.render({"x": "1"}) == "yes 1"
    for source in ("{{ missing }}", "{% if missing %}{% endif %}"):
        with pytest.raises(jinja2.UndefinedError):
            Slots(source, autoescape=False).render({})


def test_math_becomes_mathml_with_parameters_in_place_and_escaped():
    text = compile_text("Let $r = {{ ratio }}$ and $$\\min(r A, {{ upper }} A)$$ <b>x</b>")
    html = text.html.render({"ratio": "1.50", "upper": "<1.2>"})
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in html
    assert 'display="block"' in html and "<mn>1.50</mn>" in html
    assert "&lt;1.2&gt;" in html and "<b>" not in html  # values and raw HTML are escaped
    assert text.markdown.render({"ratio": "1.50", "upper": "1.2"}).startswith("Let $r = 1.50$")


def test_plain_text_for_terminals():
    assert to_plain_text(r"$\min(r A, \operatorname{clip}(r, 1-\epsilon, 1+\epsilon) A)$") == (
        "min(r A, clip(r, 1-ε, 1+ε) A)"
    )
    assert (
        to_plain_text(r"**Bold** and $\beta = 0.1$, $\frac{a}{b}$") == "Bold and β = 0.1, (a)/(b)"
    )


@pytest.mark.parametrize(
    ("latex", "plain"),
    [
        (r"$a \ne b$", "a ≠ b"),
        (r"$a \neq b$", "a ≠ b"),  # \ne is no prefix of \neq, nor the reverse
        (r"$r \in [1-\epsilon, 1+\epsilon]$", "r ∈ [1-ε, 1+ε]"),
        (r"$\hat{A}_t \geq 0$", "Â_t ≥ 0"),
        (r"$\left( \tfrac{1}{2} \right)$", "( (1)/(2) )"),
        (r"$\sum_t \alpha \cdot \nabla \log \pi_\theta$", "Σ_t α · ∇ log π_θ"),
        (r"$\beta \to \infty$, $x \sim \pi$", "β → ∞, x ~ π"),
        (r"$\{a\}$ and $a\,b\!c$", "{a} and a bc"),
        (r"$\unknown x$", "unknown x"),  # no command is left with its backslash
    ],
)
def test_plain_text_converts_latex_commands_as_whole_words(latex, plain):
    assert to_plain_text(latex) == plain
