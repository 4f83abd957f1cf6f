"""Train a small spaCy NER (PERSON only) on sentences generated here, for docs/ner-options.md.

Training data is made from hand-written templates (chat, e-mail, tickets, CRM notes, log
lines) filled with names from the shipped lists (``schemas/data/first_names.txt``,
``last_names.txt``) and with capitalised non-names (products, firms, places, weekdays) as
negatives. Nothing is read from any evaluation corpus. CPU only, a few minutes at most.

    python tools/train_ner.py --out /tmp/ner-synth [--sentences 4000] [--epochs 8] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from importlib import resources

FIRM = ["Contoso", "Northwind Traders", "Fabrikam", "Acme Corp", "Globex", "Initech",
        "Umbrella Ltd", "Stark Industries", "Wayne Enterprises", "Tailspin Toys"]
PRODUCT = ["Windows Update", "Outlook", "Kubernetes", "Teams", "Excel", "Azure Monitor",
           "Spark", "Hadoop", "Chrome", "Office 365", "Power BI", "OneDrive"]
PLACE = ["Berlin", "Seattle", "London", "Madrid", "Lagos", "Osaka", "Toronto", "Warsaw",
         "New York", "Sao Paulo", "Mumbai", "Oslo", "Nairobi", "Dublin"]
DAY = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "January", "March", "May",
       "August", "December"]
HONORIFIC = ["Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]

# {P} = a person name (labelled), {F} firm, {R} product, {L} place, {D} day/month
TEMPLATES = [
    "Hi {P}, your ticket about {R} has been escalated.",
    "{P} reported that {R} crashes on startup.",
    "Please call {P} back before {D}.",
    "Meeting with {P} and {P} moved to {D}.",
    "Dear {P}, thank you for contacting {F} support.",
    "Assigned to {P} by {P}.",
    "{P} from {F} will join the call from {L}.",
    "Customer {P} cannot sign in to {R} since {D}.",
    "Thanks, {P}",
    "Regards,\n{P}\n{F}",
    "{P}: can you restart the {R} service?",
    "{P}: sure, done.",
    "Shipment for {P} left {L} on {D}.",
    "Approved by {P} on behalf of {F}.",
    "I spoke with {P} about the {R} licence renewal.",
    "Escalation owner: {P}",
    "user {P} logged on to {R} from {L}",
    "The invoice was sent to {P} at {F} in {L}.",
    "{H} {P} will see you on {D}.",
    "Our new colleague {P} starts on {D} in the {L} office.",
    "Can {P} review the {R} change before {D}?",
    "{P} and {P} are on call this week.",
    "Account holder: {P}, {L}",
    "Contact person {P} ({F})",
    "cc: {P}; {P}",
    "{P} said the {R} dashboard is empty again.",
    "Follow up with {P} regarding the {F} contract.",
    "Hello {P}! Your {R} subscription renews on {D}.",
    "My name is {P} and I live in {L}.",
    "Package delivered to {P}, signed by {P}.",
    # negatives: capitalised words that are not people
    "{R} failed to start on {D}.",
    "{F} opened a new office in {L}.",
    "The {R} agent restarted after the update.",
    "Service {R} is healthy in {L}.",
    "{F} and {F} signed the agreement on {D}.",
    "Error in {R}: connection refused.",
    "Backup completed for {L} region.",
    "Release notes for {R} are published every {D}.",
    "Warning: disk almost full on the {L} cluster.",
    "Thanks for choosing {F}!",
    "Subject: {W} {W} for {D}",
    "{W} {W} is now available in {L}.",
    "Re: {W} {W} {W}",
    "{O} reported record revenue in {L}.",
    "The order ships from {O}, {A}.",
    "Our office moved to {A}.",
    "Deliver to {A}, {L}.",
    "{W} and {W} were discussed at the {O} board meeting.",
    "See the {W} {W} section of the {R} guide.",
    "{O} acquired {O} last {D}.",
    "{P} works for {O} at {A}.",
    "{P} moved to {A} in {L}.",
    "The {W} team at {O} thanks {P} for the report.",
]


def _names(file: str) -> list[str]:
    text = resources.files("telescrub.schemas").joinpath(f"data/{file}").read_text("utf-8")
    return [ln.lstrip("~?") for ln in text.splitlines() if ln and not ln.startswith("#")]


def person(rng: random.Random, first: list[str], last: list[str]) -> str:
    f, la = rng.choice(first), rng.choice(last)
    shape = rng.random()
    if shape < 0.55:
        return f"{f} {la}"
    if shape < 0.7:
        return f
    if shape < 0.8:
        return f"{f} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {la}"
    if shape < 0.9:
        return f"{f[0]}. {la}"
    return la.upper() + " " + f if rng.random() < 0.5 else f"{la}, {f}"


def generate(n: int, seed: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    rng = random.Random(seed)
    first, last = _names("first_names.txt"), _names("last_names.txt")
    words = [w.capitalize() for w in _names("english_words.txt") if w.isalpha()]
    fill = {"F": FIRM, "R": PRODUCT, "L": PLACE, "D": DAY, "H": HONORIFIC, "W": words}
    out = []
    for _ in range(n):
        tpl = rng.choice(TEMPLATES)
        text, ents, i = "", [], 0
        while i < len(tpl):
            if tpl[i] == "{" and tpl[i + 2] == "}":
                key = tpl[i + 1]
                if key == "P":
                    name = person(rng, first, last)
                    ents.append((len(text), len(text) + len(name), "PERSON"))
                    text += name
                elif key == "O":  # a firm named after a family: not a person
                    text += rng.choice(last) + " " + rng.choice(["Inc.", "Ltd", "LLC", "Group",
                                                                 "& Sons", "Partners", "GmbH"])
                elif key == "A":  # a street named after a person: not a person
                    text += (f"{rng.randint(1, 999)} {rng.choice(first + last)} "
                             + rng.choice(["Street", "Road", "Avenue", "Lane", "Blvd"]))
                else:
                    text += rng.choice(fill[key])
                i += 3
            else:
                text += tpl[i]
                i += 1
        if rng.random() < 0.1 and len(text.lower()) == len(text):  # some lower-case chat
            text = text.lower()
        out.append((text, ents))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sentences", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    import spacy
    from spacy.training import Example
    from spacy.util import minibatch

    random.seed(args.seed)
    spacy.util.fix_random_seed(args.seed)
    data = generate(args.sentences, args.seed)
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner")
    ner.add_label("PERSON")
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in data]
    optimizer = nlp.initialize(lambda: examples)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        random.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=32):
            nlp.update(batch, sgd=optimizer, losses=losses, drop=0.2)
        print(f"epoch {epoch + 1}: loss {losses['ner']:.1f} ({time.perf_counter() - t0:.0f}s)",
              flush=True)
    nlp.meta.update({"name": "telescrub_person_synth", "version": "0.0.1",
                     "description": "PERSON-only NER trained on template sentences "
                     "(tools/train_ner.py); names from schemas/data", "license": "Apache-2.0"})
    nlp.to_disk(args.out)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
