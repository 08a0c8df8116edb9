"""Write probes.jsonl: sentences where an explicit emotion word meets a conflicting idiom or context.

A report for every shipped model (the model card), never a way to choose among runs. Two kinds,
all written for this project:
- "word": an opening that carries one feeling ("I can't believe...", "lol", "thank god") followed by
  an explicit emotion word that should decide the reading;
- "idiom": a figure of speech whose literal words point elsewhere ("I'm dying to see it").
`accept` lists every label a careful reader would accept as the top reading.

Run: python data/probes/make_probes.py   (deterministic)
"""
import json
from pathlib import Path

OPENINGS = ("I can't believe they cancelled it", "lol, they cancelled it", "Thank god that's over",
            "Oh no, not again", "Sorry to say it", "Wow, what a day", "Honestly, whatever",
            "So they finally announced it")
WORDS = {
    "I'm furious": ["anger", "annoyance"],
    "I'm heartbroken": ["sadness", "grief", "disappointment"],
    "I'm terrified": ["fear", "nervousness"],
    "I'm thrilled": ["excitement", "joy"],
    "I'm disgusted": ["disgust", "disapproval", "anger"],
    "I'm so grateful": ["gratitude"],
    "I'm proud of us": ["pride", "admiration"],
    "I'm totally confused": ["confusion"],
    "I'm relieved": ["relief"],
    "I love it": ["love", "admiration", "joy"],
    "I'm so embarrassed": ["embarrassment", "remorse"],
    "I'm disappointed": ["disappointment", "sadness"],
}
IDIOMS = [
    ("I'm dying to see the new season.", ["desire", "excitement"]),
    ("That band absolutely killed it last night.", ["admiration", "excitement", "joy"]),
    ("This cake is sinfully good.", ["admiration", "joy", "love"]),
    ("I could murder a pizza right now.", ["desire"]),
    ("I was crying with laughter the whole film.", ["amusement"]),
    ("She cried tears of joy at the wedding.", ["joy", "love"]),
    ("I'm terribly sorry I missed your call.", ["remorse"]),
    ("That's awfully kind of you.", ["gratitude", "admiration", "caring"]),
    ("The puppy is disgustingly cute.", ["love", "admiration", "joy", "amusement"]),
    ("I'm stupidly happy today.", ["joy"]),
    ("That goal was sick!", ["admiration", "excitement"]),
    ("He scared the hell out of me, then we laughed for an hour.", ["amusement", "joy"]),
    ("I'm over the moon about the job.", ["joy", "excitement"]),
    ("My heart sank when I read the email.", ["sadness", "disappointment", "fear"]),
    ("I'm on cloud nine.", ["joy", "excitement"]),
    ("That gave me butterflies before the interview.", ["nervousness", "fear", "excitement"]),
    ("I'm fed up with the delays.", ["annoyance", "anger", "disappointment"]),
    ("This is a dream come true.", ["joy", "excitement", "gratitude"]),
    ("I'm kicking myself for not buying it.", ["remorse", "disappointment"]),
    ("I nearly jumped out of my skin.", ["fear", "surprise"]),
    ("That really made my blood boil.", ["anger", "annoyance"]),
    ("I'm at my wits' end with this printer.", ["annoyance", "anger", "confusion"]),
    ("It finally dawned on me why she left.", ["realization", "sadness"]),
    ("You're a lifesaver, seriously.", ["gratitude", "admiration"]),
    ("I'm green with envy at your trip.", ["desire", "admiration"]),
    ("This heat is killing me, but what a view.", ["admiration", "joy"]),
    ("I laughed so hard I cried.", ["amusement"]),
    ("My jaw hit the floor when they announced it.", ["surprise"]),
    ("Not gonna lie, this brought a tear to my eye. Beautiful.", ["admiration", "love", "joy", "sadness"]),
    ("I'm sick and tired of excuses.", ["annoyance", "anger", "disapproval"]),
    ("Break a leg tonight, you'll be great!", ["optimism", "caring", "excitement"]),
    ("The crowd went wild, insane game!", ["excitement", "admiration", "joy"]),
]


def main() -> None:
    rows = [{"text": f"{opening}, {word.lower() if opening.endswith(',') else word}.", "accept": accept,
             "kind": "word"}
            for word, accept in WORDS.items() for opening in OPENINGS]
    rows += [{"text": text, "accept": accept, "kind": "idiom"} for text, accept in IDIOMS]
    with (Path(__file__).resolve().parent / "probes.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    print(f"{len(rows)} probes")


if __name__ == "__main__":
    main()
