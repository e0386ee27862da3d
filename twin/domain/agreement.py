"""The mediation agreement (人民调解协议书) as a PDF: drafted from a Chinese template filled
from the case, rendered offline with the machine's CJK font (Noto Sans CJK SC, installed by
scripts/setup), byte for byte the same for the same case and time — its SHA-256 is what
each party signs and what anyone holding the file verifies it by.

The parties' ID-card and phone numbers appear only masked (330483********1234,
138****5678): the twin never holds them in plain form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from twin.errors import TwinError

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"),
             Path("/usr/share/fonts/opentype"), Path("/usr/share/fonts"))
FONT_NAME = "Noto Sans CJK SC"
TZ = dt.timezone(dt.timedelta(hours=8))
NUMERALS = "一二三四五六七八九十"


class AgreementError(TwinError):
    """An agreement that cannot be rendered (no CJK font on this machine)."""


@dataclass(frozen=True)
class Party:
    role: str                # 申请人 / 被申请人
    name: str
    id_masked: str | None
    phone_masked: str | None


@dataclass(frozen=True)
class Case:
    """What the template is filled with."""

    code: str
    version: int
    kind: str                # 邻里纠纷 …
    facts: str
    claim: str | None
    parties: tuple[Party, ...]
    organization: str        # the mediation committee
    mediator: str
    terms: tuple[str, ...]
    drafted_at: dt.datetime
    online: bool


@lru_cache(maxsize=1)
def _font() -> tuple[str, int]:
    """The file and collection index of Noto Sans CJK SC (a .ttc holds JP, KR, SC …)."""
    from fontTools.ttLib import TTCollection, TTFont

    for folder in FONT_DIRS:
        for path in sorted(folder.rglob("NotoSansCJK*-Regular.tt[cf]")) if folder.is_dir() \
                else ():
            if path.suffix == ".ttc":
                for i, font in enumerate(TTCollection(str(path), lazy=True).fonts):
                    if font["name"].getDebugName(4) == FONT_NAME:
                        return str(path), i
            elif TTFont(str(path), lazy=True)["name"].getDebugName(4).startswith(FONT_NAME):
                return str(path), 0
    raise AgreementError("no CJK font (Noto Sans CJK SC) on this machine: run scripts/setup "
                         "(it installs fonts-noto-cjk)")


def default_terms(amount: float | None, due: dt.date) -> list[str]:
    """The template's terms, filled from the case: payment when money is in dispute, then
    the customary clauses of a people's mediation agreement."""
    terms = []
    if amount:
        terms.append(f"被申请人于{due:%Y年%m月%d日}前一次性向申请人支付人民币"
                     f"{amount:,.2f}元。")
    terms += ["双方今后互相尊重、和睦相处，不再就本纠纷发生争执。",
              "本协议履行完毕后，双方就本纠纷再无其他争议，不再以任何方式另行主张权利。"]
    return terms


def _lines(case: Case) -> list[tuple[str, str]]:
    """The document as (style, text) lines; style: title, head, body, small."""
    when = case.drafted_at.astimezone(TZ)
    out = [("title", "人民调解协议书"),
           ("small", f"编号：{case.code}　第{case.version}稿　"
                     f"{'桐解码在线调解' if case.online else '现场调解'}"),
           ("head", "当事人")]
    for p in case.parties:
        numbers = "，".join(x for x in (f"身份证号 {p.id_masked}" if p.id_masked else "",
                                         f"联系电话 {p.phone_masked}" if p.phone_masked else "")
                           if x)
        out.append(("body", f"{p.role}：{p.name}" + (f"，{numbers}" if numbers else "")))
    out += [("head", "纠纷类型"), ("body", case.kind),
            ("head", "纠纷主要事实、争议事项"), ("body", case.facts)]
    if case.claim:
        out += [("head", "申请人请求"), ("body", case.claim)]
    out += [("head", "调解结果"),
            ("body", f"经{case.organization}主持调解，双方当事人在平等协商、互谅互让的基础上，"
                     "自愿达成如下协议：")]
    for i, term in enumerate(case.terms):
        number = NUMERALS[i] if i < len(NUMERALS) else str(i + 1)
        out.append(("body", f"{number}、{term}"))
    out += [("body", "本协议经双方当事人签名后生效，对双方具有法律约束力；当事人可以自协议生效"
                     "之日起三十日内共同向人民法院申请司法确认。"),
            ("body", "各方当事人通过本人签署链接在线签署本协议（输入姓名并确认同意），签署时间与"
                     "本文件的 SHA-256 摘要一并存档，任何持有本文件者均可核验。"),
            ("head", "调解组织与调解员"),
            ("body", f"{case.organization}　调解员：{case.mediator}"),
            ("small", f"制作日期：{when:%Y年%m月%d日 %H:%M}（北京时间）")]
    return out


def render(case: Case) -> bytes:
    """The agreement as PDF bytes (A4); the same case renders to the same bytes."""
    from fpdf import FPDF

    path, index = _font()
    pdf = FPDF(format="A4")
    pdf.set_creation_date(case.drafted_at.astimezone(dt.UTC))
    pdf.set_title(f"人民调解协议书 {case.code}")
    pdf.set_producer("Village Twin")
    pdf.add_font("cjk", fname=path, collection_font_number=index)
    pdf.set_margins(22, 20, 22)
    pdf.add_page()
    sizes = {"title": 20, "head": 12.5, "body": 11.5, "small": 9.5}
    for style, text in _lines(case):
        pdf.set_font("cjk", size=sizes[style])
        if style == "title":
            pdf.cell(0, 14, text, align="C", new_x="LMARGIN", new_y="NEXT")
        elif style == "head":
            pdf.ln(2)
            pdf.set_text_color(22, 100, 255)
            pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
        else:
            pdf.multi_cell(0, 7 if style == "body" else 6, text, new_x="LMARGIN",
                           new_y="NEXT")
    return bytes(pdf.output())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
