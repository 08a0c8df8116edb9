"""Write the graded intensity ladders in this folder (train.jsonl, dev.jsonl, test.jsonl).

Every ladder keeps one situation and one register and changes only how strongly one emotion is
felt: rung 0 is a plain factual statement, rungs 1-4 say the emotion mildly, plainly, strongly and
overwhelmingly. The phrases and situations below were written for this project.

Splits (disjoint by construction, see NOTICE.md):
- train: phrase bank A, situations A, registers plain / tweet / dialogue
- dev:   phrase bank A, situations C (not in train), registers plain / tweet / dialogue
- test:  phrase bank B (other words), situations B, registers review / diary / chat

Run: python data/intensity/make_ladders.py   (deterministic; rewrites the three files)
"""
from __future__ import annotations

import json
import random
from pathlib import Path

# label -> rungs 1..4 of bank A (train and dev); {x} is the situation, a noun phrase.
PHRASES: dict[str, tuple[str, ...]] = {
    "admiration": ("I think {x} was done quite well", "I'm impressed by {x}", "I really admire {x}",
                   "I'm in absolute awe of {x}, it is magnificent"),
    "amusement": ("{x} was mildly amusing", "{x} made me laugh", "I was laughing hard at {x}",
                   "I was crying with laughter at {x}, I couldn't breathe"),
    "anger": ("I'm a little irritated about {x}", "I'm angry about {x}", "I'm furious about {x}",
               "I am absolutely livid about {x}, I could scream"),
    "annoyance": ("{x} is slightly bothersome", "{x} is annoying", "{x} is really getting on my nerves",
                   "{x} is driving me completely up the wall"),
    "approval": ("{x} seems acceptable", "I approve of {x}", "I fully support {x}",
                  "I wholeheartedly endorse {x}, it is exactly right"),
    "caring": ("I hope {x} goes okay for you", "I care about how {x} affects you",
                "I'm deeply concerned for you after {x}", "I will do anything to look after you through {x}"),
    "confusion": ("I'm a bit unsure about {x}", "I'm confused about {x}", "I'm completely baffled by {x}",
                   "I am utterly lost, {x} makes no sense at all to me"),
    "curiosity": ("I'm a little curious about {x}", "I wonder about {x}", "I'm really intrigued by {x}",
                   "I'm dying to know everything about {x}"),
    "desire": ("I'd kind of like to have {x}", "I want {x}", "I really long for {x}",
                "I desperately crave {x}, I would give anything for it"),
    "disappointment": ("{x} was a bit underwhelming", "I'm disappointed by {x}", "I'm really let down by {x}",
                        "{x} was a crushing letdown, I am devastated"),
    "disapproval": ("I'm not sure {x} was right", "I disapprove of {x}", "I strongly object to {x}",
                     "{x} is completely unacceptable and I condemn it"),
    "disgust": ("{x} was a little off-putting", "{x} was gross", "{x} was disgusting",
                 "{x} was so revolting it made me physically sick"),
    "embarrassment": ("{x} was slightly awkward for me", "I was embarrassed by {x}",
                       "I was deeply embarrassed by {x}", "I wanted the ground to swallow me during {x}"),
    "excitement": ("I'm a bit eager about {x}", "I'm excited about {x}", "I'm so thrilled about {x}",
                    "I'm bursting with excitement about {x}, I can't sit still"),
    "fear": ("{x} makes me a little uneasy", "I'm scared of {x}", "I'm terrified of {x}",
              "I'm paralysed with terror about {x}, I can't stop shaking"),
    "gratitude": ("thanks for {x}", "I'm grateful for {x}", "I'm deeply thankful for {x}",
                   "I can never thank you enough for {x}, I am overwhelmed with gratitude"),
    "grief": ("I feel a little loss after {x}", "I'm grieving after {x}", "I'm heartbroken and grieving after {x}",
               "after {x} my grief is unbearable, I can't go on"),
    "joy": ("{x} was pleasant", "{x} made me happy", "{x} made me so joyful",
             "{x} filled me with pure, overwhelming joy"),
    "love": ("I'm fond of {x}", "I love {x}", "I adore {x}", "I love {x} with all my heart and soul"),
    "nervousness": ("I'm slightly on edge about {x}", "I'm nervous about {x}", "I'm really anxious about {x}",
                     "I'm a total wreck of nerves about {x}, my hands won't stop trembling"),
    "optimism": ("{x} might turn out fine", "I'm hopeful about {x}", "I'm very optimistic about {x}",
                  "I'm absolutely certain {x} will turn out wonderfully"),
    "pride": ("I'm a bit pleased with myself about {x}", "I'm proud of {x}", "I'm so proud of {x}",
               "I'm bursting with pride about {x}"),
    "realization": ("I think I see something about {x}", "I realized something about {x}",
                     "it suddenly hit me what {x} really meant", "it struck me like lightning: {x} changed everything"),
    "relief": ("I'm a bit relieved about {x}", "I'm relieved about {x}", "I'm so relieved about {x}",
                "{x} lifted a huge weight off me, I could cry with relief"),
    "remorse": ("I slightly regret {x}", "I'm sorry about {x}", "I deeply regret {x}",
                 "I will never forgive myself for {x}, the guilt is eating me alive"),
    "sadness": ("{x} left me a bit down", "{x} made me sad", "{x} made me very sad",
                 "{x} left me in utter despair, I can't stop crying"),
    "surprise": ("{x} was a little unexpected", "I was surprised by {x}", "I was astonished by {x}",
                  "I was completely stunned by {x}, I could not believe my eyes"),
}

# label -> rungs 1..4 of bank B (test only): other words for the same grades.
BANK_B: dict[str, tuple[str, ...]] = {
    "admiration": ("{x} was decent work, I suppose", "I respect how {x} was handled",
                   "{x} was brilliantly handled, truly admirable",
                   "{x} is the most breathtaking thing I have ever witnessed"),
    "amusement": ("{x} was sort of funny", "{x} was hilarious to me", "{x} had me in fits of laughter",
                  "{x} is the funniest thing ever, my sides are splitting"),
    "anger": ("{x} rubs me the wrong way a little", "{x} makes me mad", "{x} makes me seethe with rage",
              "{x} fills me with blind fury, I am shaking with rage"),
    "annoyance": ("{x} is a small nuisance", "{x} bugs me", "{x} irritates me to no end",
                  "{x} is the most infuriating nuisance imaginable"),
    "approval": ("{x} is okay by me", "{x} has my approval", "{x} is a great call, I'm all for it",
                 "{x} is perfect and has my complete backing"),
    "caring": ("take it easy with {x}", "please look after yourself with {x}",
               "I worry about you so much with {x}", "you mean the world to me and I'll stand by you through {x}"),
    "confusion": ("{x} is slightly puzzling", "{x} puzzles me", "{x} has me totally bewildered",
                  "{x} leaves me hopelessly confused, I cannot make sense of anything"),
    "curiosity": ("{x} catches my interest a little", "I'm interested in how {x} works",
                  "I'm fascinated by {x}", "I'm burning with curiosity about {x}"),
    "desire": ("{x} would be nice to have", "I wish I had {x}", "I yearn for {x}",
               "I am aching with desire for {x}, I need it"),
    "disappointment": ("{x} was not quite what I hoped", "{x} disappointed me", "{x} bitterly disappointed me",
                       "{x} shattered every hope I had"),
    "disapproval": ("{x} seems a bit questionable", "I don't agree with {x}", "{x} is badly wrong",
                    "{x} is an outrage that should never have been allowed"),
    "disgust": ("{x} was a bit unappetising", "{x} grossed me out", "{x} was repulsive",
                "{x} was utterly vile, I gagged"),
    "embarrassment": ("{x} made me a little self-conscious", "{x} made me blush", "{x} was mortifying",
                      "{x} was the most humiliating moment of my life"),
    "excitement": ("{x} sounds fun", "I'm looking forward to {x}", "I'm pumped for {x}",
                   "I'm beyond ecstatic about {x}, this is the best day ever"),
    "fear": ("{x} worries me slightly", "{x} frightens me", "{x} fills me with dread",
             "{x} has me frozen in sheer horror"),
    "gratitude": ("{x} was kind of you", "thank you for {x}", "thank you so very much for {x}",
                  "I am forever in your debt for {x}, thank you from the bottom of my heart"),
    "grief": ("{x} leaves a small emptiness", "I mourn {x}", "{x} has left me in deep mourning",
              "{x} has torn my heart out, I am lost in grief"),
    "joy": ("{x} was nice", "{x} made me glad", "{x} made me incredibly happy",
            "{x} was pure bliss, I am over the moon"),
    "love": ("I like {x} a lot", "I cherish {x}", "I'm head over heels for {x}",
             "{x} is the love of my life, I'd die for it"),
    "nervousness": ("{x} makes me slightly jittery", "{x} makes me anxious", "{x} fills me with anxiety",
                    "{x} gives me a full-blown panic, I can barely breathe"),
    "optimism": ("{x} could go okay", "{x} will probably work out", "I'm confident {x} will go great",
                 "I have no doubt at all that {x} will be a triumph"),
    "pride": ("{x} went okay thanks to me", "I'm pleased with how I did {x}", "I'm immensely proud of {x}",
              "{x} is my proudest achievement ever, I'm glowing"),
    "realization": ("I notice something about {x}", "now I understand {x}", "{x} finally clicked for me",
                    "all at once the whole truth of {x} dawned on me"),
    "relief": ("{x} eases my mind slightly", "{x} is a relief", "{x} is such a huge relief",
               "{x} is the greatest relief of my life, I can finally breathe"),
    "remorse": ("{x} was a small mistake of mine", "I apologise for {x}", "I'm truly ashamed of {x}",
                "{x} haunts me, I am consumed by guilt"),
    "sadness": ("{x} makes me a little blue", "{x} makes me unhappy", "{x} breaks my heart",
                "{x} leaves me utterly miserable and in tears"),
    "surprise": ("{x} was not what I expected", "{x} caught me off guard", "{x} was astounding",
                 "{x} left me speechless, I was absolutely flabbergasted"),
}

NEUTRAL_A = ("there was an update about {x}", "I read the notice about {x}", "we discussed {x} at noon")
NEUTRAL_B = ("someone mentioned {x} today", "the schedule lists {x}", "{x} is on the agenda")

SITUATIONS_A = ("the delayed train", "my sister's new job", "the match last night", "the letter from the bank",
                "the neighbours' party", "the exam results")
SITUATIONS_C = ("the new phone", "the office move")
SITUATIONS_B = ("the budget meeting", "the package that arrived", "my old friend's visit")

EMOJI = {"positive": "\U0001F60A", "negative": "\U0001F61E", "ambiguous": "\U0001F914", "neutral": ""}


def clause(template: str, situation: str) -> str:
    text = template.format(x=situation)
    return text[0].upper() + text[1:]


def render(register: str, text: str, label: str, rung: int, pick: int) -> str:
    """Wrap one clause in a register; the wrapping (chosen by pick, fixed per ladder) never depends on the rung."""
    from hyperamy.emotions import LABEL_TO_GROUP

    def choice(options):
        return options[pick % len(options)]

    if register == "plain":
        return text + "."
    if register == "tweet":
        return text.lower() + " #" + choice(("monday", "life", "news", "today"))
    if register == "dialogue":
        return f'"{text}," {choice(("Anna", "Tom", "the old man"))} said.'
    if register == "review":
        return f"Update on {choice(('the order', 'the hotel', 'the service'))}: {text}."
    if register == "diary":
        return f"Dear diary, it is late and the house is quiet. {text}."
    if register == "chat":
        emoji = EMOJI[LABEL_TO_GROUP[label]] if rung else ""
        return (text.lower().replace("'", "") + " " + emoji).strip()
    raise ValueError(register)


def ladders(bank: str, situations, registers, seed: int) -> list[dict]:
    rng = random.Random(seed)
    count = 0
    neutral = NEUTRAL_A if bank == "A" else NEUTRAL_B
    rows = []
    bank_rungs = PHRASES if bank == "A" else BANK_B
    for label, rungs in bank_rungs.items():
        for number, situation in enumerate(situations):
            register = registers[count % len(registers)]
            count += 1
            ladder = f"{bank}-{label}-{number}"
            templates = (rng.choice(neutral),) + tuple(rungs)
            pick = rng.randrange(12)
            for rung, template in enumerate(templates):
                text = render(register, clause(template, situation), label, rung, pick)
                rows.append({"ladder": ladder, "label": label, "rung": rung, "register": register, "text": text})
    return rows


def main() -> None:
    folder = Path(__file__).resolve().parent
    splits = {
        "train": ladders("A", SITUATIONS_A, ("plain", "tweet", "dialogue"), seed=1),
        "dev": ladders("A", SITUATIONS_C, ("plain", "tweet", "dialogue"), seed=2),
        "test": ladders("B", SITUATIONS_B, ("review", "diary", "chat"), seed=3),
    }
    for name, rows in splits.items():
        with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} sentences in {len({r['ladder'] for r in rows})} ladders")


if __name__ == "__main__":
    main()
