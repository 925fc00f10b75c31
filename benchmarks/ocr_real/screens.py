"""Screenshots: HTML pages laid out and shot by headless Chromium, line boxes read back from the DOM.

Each page is one of a few kinds of screen (chat, settings list, article, cards, alerts,
hero banner, bulleted list, key-value table), in a light or dark theme, with a random
font stack, base size 13–32 CSS px and device scale 1, 1.25, 1.5 or 2.  The ground truth
comes from the laid-out page itself: every character's box (a DOM Range per code point)
is read back and the characters are grouped into visual lines, so wrapping, letter-spacing
and fallback fonts are exactly what was drawn.
"""

from __future__ import annotations

import html
import random

from benchmarks.ocr_real import text as T

# (CSS font-family stack, weight) — none is a face the trainer renders with except
# Noto Sans/Serif CJK SC at 400/700, which is kept for a share of pages (noted in the GT as "font").
FONTS = (
    ("'Noto Sans CJK SC'", 300), ("'Noto Sans CJK SC'", 350), ("'Noto Sans CJK SC'", 400),
    ("'Noto Sans CJK SC'", 500), ("'DejaVu Sans', 'Noto Sans CJK SC'", 400),
    ("'Liberation Sans', 'Noto Sans CJK SC'", 500), ("'Noto Serif CJK SC'", 300),
    ("'Noto Serif CJK SC'", 500), ("'Liberation Serif', 'Noto Serif CJK SC'", 400),
    ("'LXGW WenKai'", 400), ("'AR PL SungtiL GB'", 400), ("'AR PL KaitiM GB'", 400),
    ("'Droid Sans Fallback'", 400),
)
SCALES = (1.0, 1.25, 1.5, 2.0)

LIGHT = dict(bg="#ffffff", fg="#1f2329", muted="#6b7280", card="#ffffff", line="#e5e7eb", page="#f4f5f7")
DARK = dict(bg="#17181a", fg="#e8e8e8", muted="#9aa0a6", card="#242528", line="#34363a", page="#0f1012")

CHARS_JS = r"""(() => {
  const out = [];
  const walker = document.createTreeWalker(document.getElementById('page'), NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let node;
  while ((node = walker.nextNode())) {
    const t = node.textContent;
    for (let i = 0; i < t.length; ) {
      const cp = t.codePointAt(i), n = cp > 0xffff ? 2 : 1;
      range.setStart(node, i); range.setEnd(node, i + n);
      const r = range.getClientRects();
      if (r.length && (r[0].width > 0 || r[0].height > 0))
        out.push([String.fromCodePoint(cp), r[0].left, r[0].top, r[0].right, r[0].bottom]);
      i += n;
    }
  }
  return out;
})()"""


def group_lines(chars: list, scale: float, height_css: float) -> list[dict]:
    """Characters in DOM order → visual lines [{"text", "box" (image px)}], a space where the page shows one."""
    lines: list[dict] = []
    cur = None
    pending_space = False
    for ch, x0, y0, x1, y1 in chars:
        if y1 > height_css + 0.5 or y0 < 0:
            continue  # below the shot
        if ch.isspace():
            pending_space = cur is not None
            continue
        h = max(1.0, y1 - y0)
        if cur is not None:
            overlap = min(cur["y1"], y1) - max(cur["y0"], y0)
            same = overlap > 0.5 * min(h, cur["y1"] - cur["y0"]) and x0 >= cur["last"] - 0.5 * h
            if same:
                gap = x0 - cur["last"]
                if pending_space or gap > 0.6 * h:
                    cur["text"] += " "
                cur["text"] += ch
                cur.update(x0=min(cur["x0"], x0), y0=min(cur["y0"], y0), x1=max(cur["x1"], x1),
                           y1=max(cur["y1"], y1), last=x1)
                pending_space = False
                continue
        cur = dict(text=ch, x0=x0, y0=y0, x1=x1, y1=y1, last=x1)
        lines.append(cur)
        pending_space = False
    return [{"text": l["text"], "box": [round(l["x0"] * scale), round(l["y0"] * scale),
                                        round(l["x1"] * scale), round(l["y1"] * scale)]} for l in lines]


# ------------------------------------------------------------------ page kinds
def _e(s: str) -> str:
    return html.escape(s, quote=False)


def chat(rng, c, size):
    mine_bg, mine_fg = rng.choice([("#95ec69", "#111"), ("#0a84ff", "#fff"), ("#34c759", "#fff"), ("#5b6cff", "#fff")])
    other_bg = c["card"] if rng.random() < 0.6 else rng.choice(["#e9e9eb", "#3a3b3e", "#fff4d6"])
    other_fg = "#111" if other_bg in ("#e9e9eb", "#fff4d6", "#ffffff") else c["fg"]
    rows = []
    for i in range(rng.randint(4, 8)):
        if rng.random() < 0.25:
            rows.append(f"<div class=ts>{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}</div>")
        mine = rng.random() < 0.5
        msg = T.snippet(rng, 4, 40) if rng.random() < 0.7 else T.mixed(rng)
        bg, fg = (mine_bg, mine_fg) if mine else (other_bg, other_fg)
        avatar = f"<div class=av style='background:hsl({rng.randrange(360)},55%,55%)'></div>"
        bubble = f"<div class=bubble style='background:{bg};color:{fg}'>{_e(msg)}</div>"
        rows.append(f"<div class='row {'me' if mine else ''}'>{bubble + avatar if mine else avatar + bubble}</div>")
    css = f""".row{{display:flex;gap:.6em;margin:.8em 0;align-items:flex-start}} .row.me{{justify-content:flex-end}}
      .av{{width:2.2em;height:2.2em;border-radius:{rng.choice(['50%', '6px'])};flex:none}}
      .bubble{{max-width:68%;padding:.55em .8em;border-radius:{rng.choice([6, 10, 16])}px;line-height:1.45}}
      .ts{{text-align:center;color:{c['muted']};font-size:.75em;margin:1em 0}}"""
    title = f"<div class=bar>{_e(rng.choice(T.words()))}（{rng.randint(3, 300)}）</div>"
    css += f".bar{{text-align:center;font-weight:600;padding:.6em 0;border-bottom:1px solid {c['line']}}}"
    return title + "".join(rows), css


def settings(rng, c, size):
    rows = []
    spaced = rng.random() < 0.5
    for i in range(rng.randint(5, 10)):
        label = rng.choice(T.words()) + (rng.choice(T.words()) if rng.random() < 0.4 else "")
        r = rng.random()
        if r < 0.3:
            value = rng.choice(["已开启", "已关闭", "已连接", "未连接", "自动", "默认"])
        elif r < 0.55:
            value = T.mixed(rng)[:14]
        elif r < 0.75 and spaced:
            value = "<span class=sp>" + _e(T._fullwidth(str(rng.randint(100, 99999)))) + "</span>"
        else:
            value = ""
        value = value if value.startswith("<span") else _e(value)
        icon = f"<div class=ic style='background:hsl({rng.randrange(360)},70%,50%)'></div>"
        rows.append(f"<div class=set>{icon}<div class=lab>{_e(label)}</div><div class=val>{value}</div><div class=chev></div></div>")
    css = f""".set{{display:flex;align-items:center;gap:.7em;padding:.75em .9em;border-bottom:1px solid {c['line']};background:{c['card']}}}
      .ic{{width:1.6em;height:1.6em;border-radius:.4em;flex:none}} .lab{{flex:1}} .val{{color:{c['muted']}}}
      .sp{{letter-spacing:{rng.choice([0.1, 0.2, 0.3])}em}}
      .chev{{width:.5em;height:.5em;border-right:2px solid {c['muted']};border-top:2px solid {c['muted']};transform:rotate(45deg)}}"""
    head = f"<h2 style='margin:.6em .5em'>{_e(rng.choice(T.words()))}</h2>"
    return head + "".join(rows), css


def article(rng, c, size):
    paras = ["".join(T.snippet(rng, 30, 80) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(2, 4))]
    if rng.random() < 0.5:
        paras.insert(rng.randrange(len(paras) + 1), T.mixed(rng) + "，" + T.snippet(rng, 10, 30))
    meta = f"{rng.randint(2015, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} · {rng.choice(T.words())} · 阅读 {rng.randint(100, 99999)}"
    body = f"<h1>{_e(T.snippet(rng, 6, 18))}</h1><div class=meta>{_e(meta)}</div>"
    body += "".join(f"<p>{_e(p)}</p>" for p in paras)
    ls = rng.choice([0, 0, 0.05, 0.1])
    css = f"""h1{{font-size:1.6em;margin:.4em 0 .3em}} .meta{{color:{c['muted']};font-size:.8em;margin-bottom:1em}}
      p{{line-height:{rng.choice([1.4, 1.6, 1.8, 2.0])};text-indent:{rng.choice([0, 2])}em;letter-spacing:{ls}em;margin:.6em 0}}"""
    return body, css


def cards(rng, c, size):
    out = []
    for _ in range(rng.randint(2, 4)):
        chips = "".join(f"<span class=chip style='background:hsl({rng.randrange(360)},80%,{88 if c is LIGHT else 30}%)'>{_e(rng.choice(T.words()))}</span>"
                        for _ in range(rng.randint(0, 3)))
        out.append(f"<div class=card><div class=ct>{_e(T.snippet(rng, 6, 16))}</div><div class=cb>{_e(T.snippet(rng, 20, 60))}</div>"
                   f"<div class=chips>{chips}</div><div class=price>￥{rng.randint(1, 999)}.{rng.randint(0, 99):02d}</div></div>")
    css = f""".card{{background:{c['card']};border-radius:12px;padding:1em;margin:1em 0;box-shadow:0 {rng.randint(2, 8)}px {rng.randint(8, 24)}px rgba(0,0,0,{rng.choice([0.12, 0.25, 0.4])})}}
      .ct{{font-weight:700;font-size:1.15em}} .cb{{color:{c['muted']};margin:.4em 0;line-height:1.5}}
      .chips{{display:flex;gap:.5em;margin:.3em 0}} .chip{{padding:.1em .6em;border-radius:1em;font-size:.8em;color:{c['fg']}}}
      .price{{color:#e4393c;font-weight:700}}"""
    return "".join(out), css


def alerts(rng, c, size):
    kinds = [("#e8f4ff", "#1565c0", "#1e88e5"), ("#fff4e5", "#8a4b00", "#fb8c00"), ("#fdecea", "#b71c1c", "#e53935"),
             ("#edf7ed", "#1b5e20", "#43a047")]
    if c is DARK:
        kinds = [("#0d2a45", "#90caf9", "#1e88e5"), ("#3a2600", "#ffcc80", "#fb8c00"), ("#3b1212", "#ef9a9a", "#e53935"),
                 ("#12301a", "#a5d6a7", "#43a047")]
    out = []
    for _ in range(rng.randint(3, 5)):
        bg, fg, accent = rng.choice(kinds)
        msg = T.snippet(rng, 10, 40) if rng.random() < 0.6 else T.mixed(rng) + "，" + T.snippet(rng, 6, 16)
        out.append(f"<div class=al style='background:{bg};color:{fg};border-left:4px solid {accent}'>"
                   f"<div class=dot style='background:{accent}'></div><div>{_e(msg)}</div></div>")
    btns = "".join(f"<span class=btn style='background:{b};color:#fff'>{_e(rng.choice(T.words()))}</span>"
                   for b in rng.sample(["#1677ff", "#52c41a", "#fa541c", "#722ed1", "#13c2c2"], 2))
    css = """.al{display:flex;gap:.7em;align-items:flex-start;padding:.8em 1em;border-radius:6px;margin:.8em 0;line-height:1.5}
      .dot{width:1em;height:1em;border-radius:50%;flex:none;margin-top:.25em}
      .btn{display:inline-block;padding:.45em 1.2em;border-radius:6px;margin:.8em .8em 0 0}"""
    return "".join(out) + f"<div>{btns}</div>", css


def hero(rng, c, size):
    h1, h2 = rng.randrange(360), rng.randrange(360)
    light_text = rng.random() < 0.7
    grad = (f"linear-gradient({rng.randrange(360)}deg, hsl({h1},70%,{35 if light_text else 80}%), "
            f"hsl({h2},70%,{45 if light_text else 90}%))")
    fg = "#fff" if light_text else "#1a1a1a"
    body = (f"<div class=hero style='background:{grad};color:{fg}'><div class=big>{_e(T.snippet(rng, 5, 12))}</div>"
            f"<div class=sub>{_e(T.snippet(rng, 12, 36))}</div><span class=cta>{_e(rng.choice(T.words()))} →</span></div>")
    body += "".join(f"<p>{_e(T.snippet(rng, 20, 60))}</p>" for _ in range(rng.randint(1, 2)))
    css = f""".hero{{padding:1.6em 1.2em;border-radius:{rng.choice([0, 8, 16])}px;text-align:{rng.choice(['left', 'center'])}}}
      .big{{font-size:2em;font-weight:800;letter-spacing:{rng.choice([0, 0.05, 0.15])}em}} .sub{{margin:.6em 0 1em;opacity:.9;line-height:1.5}}
      .cta{{display:inline-block;padding:.4em 1em;border:2px solid {fg};border-radius:2em}} p{{line-height:1.6}}"""
    return body, css


def bullets(rng, c, size):
    style = rng.choice(["disc", "text", "numbered", "icon"])
    items = [T.snippet(rng, 6, 30) if rng.random() < 0.7 else T.mixed(rng) for _ in range(rng.randint(4, 8))]
    if style == "disc":
        body = "<ul>" + "".join(f"<li>{_e(t)}</li>" for t in items) + "</ul>"
    elif style == "text":  # the bullet is a character of the text
        b = rng.choice(["●", "○", "■", "◆", "★", "•", "·", "—"])
        body = "".join(f"<div class=it>{b} {_e(t)}</div>" for t in items)
    elif style == "numbered":
        nums = rng.choice([["①", "②", "③", "④", "⑤", "⑥", "⑦", "⑧"], [f"{i}." for i in range(1, 9)],
                           [f"（{i}）" for i in range(1, 9)], [f"{'一二三四五六七八'[i]}、" for i in range(8)]])
        body = "".join(f"<div class=it>{nums[i]}{_e(t)}</div>" for i, t in enumerate(items))
    else:  # a drawn icon (not text) before each line
        body = "".join(f"<div class=it><span class=ico style='background:hsl({rng.randrange(360)},65%,50%)'></span>{_e(t)}</div>"
                       for t in items)
    body = f"<h3>{_e(T.snippet(rng, 4, 12))}</h3>" + body
    css = f""".it{{margin:.5em 0;line-height:1.5}} li{{margin:.4em 0}}
      .ico{{display:inline-block;width:.9em;height:.9em;border-radius:{rng.choice(['50%', '3px'])};margin-right:.5em;vertical-align:-.1em}}"""
    return body, css


def table(rng, c, size):
    rows = "".join(f"<tr><td>{_e(rng.choice(T.words()))}</td><td>{_e(T.mixed(rng)[:18] if rng.random() < 0.6 else T.snippet(rng, 4, 12))}</td></tr>"
                   for _ in range(rng.randint(4, 9)))
    css = f"""table{{border-collapse:collapse;width:100%}} td{{padding:.5em .7em;border-bottom:1px solid {c['line']}}}
      tr:nth-child(odd){{background:{c['page']}}} td:first-child{{color:{c['muted']};width:35%}}"""
    return f"<h3>{_e(T.snippet(rng, 4, 12))}</h3><table>{rows}</table>", css


KINDS = {"chat": chat, "settings": settings, "article": article, "cards": cards, "alerts": alerts,
         "hero": hero, "bullets": bullets, "table": table}


def make_page(rng: random.Random, kind: str | None = None) -> tuple[str, dict]:
    """→ (HTML document, meta: kind, theme, font, size, scale, width)."""
    kind = kind or rng.choice(list(KINDS))
    dark = rng.random() < 0.35
    c = DARK if dark else LIGHT
    family, weight = rng.choice(FONTS)
    size = rng.choice([13, 14, 15, 16, 16, 18, 20, 22, 24, 28, 32])
    scale = rng.choice(SCALES)
    mobile = rng.random() < 0.45
    width = rng.choice([360, 390, 414]) if mobile else rng.choice([640, 800, 960, 1100])
    width = max(width, size * 22)  # a 32 px page must still hold a few words per line
    body, css = KINDS[kind](rng, c, size)
    bg = c["page"] if kind in ("cards", "settings") else c["bg"]
    if rng.random() < 0.15 and kind not in ("hero",):  # a tinted or gradient page background
        bg = (f"linear-gradient(180deg, hsl({rng.randrange(360)},40%,{92 if not dark else 14}%), "
              f"hsl({rng.randrange(360)},40%,{97 if not dark else 8}%))")
    doc = f"""<!doctype html><html><head><meta charset=utf-8><style>
      html,body{{margin:0;background:{c['bg']}}}
      #page{{box-sizing:border-box;width:{width}px;padding:{rng.choice([8, 12, 16, 24])}px;background:{bg};color:{c['fg']};
             font-family:{family};font-weight:{weight};font-size:{size}px;overflow-wrap:anywhere}}
      {css}</style></head><body><div id=page>{body}</div></body></html>"""
    meta = dict(kind=kind, theme="dark" if dark else "light", font=f"{family} {weight}", size_css=size,
                scale=scale, width_css=width)
    return doc, meta
