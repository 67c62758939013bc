"""Sentences for the demo model.

A small English grammar (about a thousand common words, forty sentence patterns) whose
compositions give many thousands of distinct sentences. The text is written the way espeak-ng
reads it aloud: words only, no digits or abbreviations, apostrophes only in contractions and
possessives. `make_splits` draws the held-out sentences first and never lets one of them into
the training texts.
"""

from __future__ import annotations

import random
from typing import Callable


def words(text: str) -> list[str]:
    """The whitespace-separated words of `text`, first occurrences only, in order."""
    return list(dict.fromkeys(text.split()))


NAMES = words("""alice bob carol david emma frank grace henry isabel jack kate liam mary nathan olivia
peter rachel sam tina victor william zoe anna ben chloe daniel ella george hannah james laura
michael nora oscar paul rose simon thomas lucy martin sophie adam julia robert helen edward
sarah kevin linda mark""")

# singular:plural, when the plural is not the regular one.
IRREGULAR_PLURALS = {
    "child": "children", "man": "men", "woman": "women", "fish": "fish", "sheep": "sheep",
    "mouse": "mice", "person": "people", "knife": "knives",
    "leaf": "leaves", "wolf": "wolves", "shelf": "shelves", "loaf": "loaves", "goose": "geese",
}

ANIMALS = words("""dog cat bird horse cow pig sheep goat duck chicken rabbit mouse fish frog bear wolf
fox lion tiger monkey elephant snake owl goose donkey deer whale spider bee butterfly""")

PEOPLE = words("""child man woman friend neighbor brother sister mother father uncle aunt cousin
teacher student doctor farmer baker driver pilot nurse singer painter writer king queen
soldier sailor waiter visitor stranger player captain person boy girl baby
guest artist dancer""")

THINGS = words("""book letter pen pencil table chair window door cup plate bottle glass box bag key
phone computer lamp clock picture shirt shoe hat coat jacket dress sock apple orange banana
cake cookie sandwich egg potato tomato carrot onion song story game ball toy ticket map
umbrella basket bucket blanket pillow candle mirror camera radio guitar piano drum bicycle
car boat train bus truck plane ship wagon rocket kite ring watch knife fork spoon bowl
bread box tent ladder hammer rope flag coin card gift letter envelope notebook newspaper
magazine bench fence gate roof wall floor stair leaf flower tree bush stone shell feather
pie pizza lemon peach pear cherry grape melon jar pot pan stove oven fridge sofa bed
desk shelf drawer carpet curtain towel soap brush comb wallet purse suitcase helmet glove
scarf boot button needle thread sword shield crown wheel engine motor battery loaf""")

PLACES = words("""kitchen garden station school library market park river lake beach forest hill
mountain village city bridge road street corner office shop hospital church museum farm
field island harbor airport bakery castle cave tower valley desert jungle meadow barn
cellar attic bathroom bedroom hallway yard playground stadium theater restaurant hotel
factory zoo pond well cottage palace square tunnel""")

MASS_NOUNS = words("""water bread milk coffee tea rice music money paper snow rain sand soup cheese
butter sugar wood juice honey salt pepper chocolate flour oil ice grass mud smoke wine
jam pasta""")

ADJECTIVES = words("""big small old new young red blue green yellow black white brown purple pink
gray orange happy sad quiet loud warm cold hot bright dark heavy light long short tall
clean dirty empty full fast slow strong soft hard sweet fresh strange famous beautiful
busy lazy tired hungry angry funny friendly careful quick gentle simple early late wet dry
cheap expensive rich poor little huge tiny round sharp smooth rough wooden golden silver
broken favorite lucky clever brave proud calm kind polite nervous curious wild shiny
noisy sleepy thirsty pretty lovely useful silly serious sunny windy cloudy rainy foggy
icy dusty muddy sticky salty spicy bitter sour crunchy fancy plain narrow wide deep
shallow thick thin fluffy striped spotted secret ancient modern gigantic enormous
delicious terrible wonderful excellent ordinary peaceful dangerous comfortable""")

# third person, past, present participle — for the verbs whose forms the rules below miss.
IRREGULAR_VERBS = {
    "see": ("sees", "saw", "seeing"), "find": ("finds", "found", "finding"),
    "take": ("takes", "took", "taking"), "bring": ("brings", "brought", "bringing"),
    "buy": ("buys", "bought", "buying"), "sell": ("sells", "sold", "selling"),
    "make": ("makes", "made", "making"), "read": ("reads", "read", "reading"),
    "write": ("writes", "wrote", "writing"), "draw": ("draws", "drew", "drawing"),
    "build": ("builds", "built", "building"), "break": ("breaks", "broke", "breaking"),
    "hold": ("holds", "held", "holding"), "keep": ("keeps", "kept", "keeping"),
    "lose": ("loses", "lost", "losing"), "leave": ("leaves", "left", "leaving"),
    "throw": ("throws", "threw", "throwing"), "catch": ("catches", "caught", "catching"),
    "meet": ("meets", "met", "meeting"), "teach": ("teaches", "taught", "teaching"),
    "send": ("sends", "sent", "sending"), "hide": ("hides", "hid", "hiding"),
    "sleep": ("sleeps", "slept", "sleeping"), "run": ("runs", "ran", "running"),
    "sing": ("sings", "sang", "singing"), "swim": ("swims", "swam", "swimming"),
    "sit": ("sits", "sat", "sitting"), "stand": ("stands", "stood", "standing"),
    "fall": ("falls", "fell", "falling"), "eat": ("eats", "ate", "eating"),
    "drink": ("drinks", "drank", "drinking"), "forget": ("forgets", "forgot", "forgetting"),
    "feed": ("feeds", "fed", "feeding"), "ride": ("rides", "rode", "riding"),
    "drive": ("drives", "drove", "driving"), "wear": ("wears", "wore", "wearing"),
    "cut": ("cuts", "cut", "cutting"), "win": ("wins", "won", "winning"),
    "choose": ("chooses", "chose", "choosing"), "steal": ("steals", "stole", "stealing"),
    "grow": ("grows", "grew", "growing"), "dig": ("digs", "dug", "digging"),
    "sweep": ("sweeps", "swept", "sweeping"), "hang": ("hangs", "hung", "hanging"),
    "drop": ("drops", "dropped", "dropping"), "shop": ("shops", "shopped", "shopping"),
    "clap": ("claps", "clapped", "clapping"), "hug": ("hugs", "hugged", "hugging"),
}

TRANSITIVE_VERBS = words("""see find take bring buy sell make paint clean open close carry watch
love like need want read write draw build fix break hold keep lose leave cook bake wash push
pull throw catch follow visit call help meet teach show send hide borrow order eat drink
feed ride drive wear cut win choose steal grow dig hang drop touch move fill empty check
count share answer enjoy miss notice remember forget kick lift pack print repair collect
deliver destroy explore hug kiss measure polish protect pack sweep""")

INTRANSITIVE_VERBS = words("""sleep run walk sing dance laugh cry smile swim jump wait work play
talk travel arrive rest shout listen fall sit stand climb whisper cough sneeze shiver
hurry relax study shop clap yawn wander stay return""")

MANNER_ADVERBS = words("""quickly slowly quietly loudly carefully happily suddenly gently easily
badly politely proudly nervously softly calmly bravely patiently eagerly secretly
together again""")

FREQUENCY_ADVERBS = "always never often sometimes usually rarely".split()

DEGREE_WORDS = "very quite really so too rather extremely".split()

PREPOSITIONS = words("""in at near behind under on across inside by around beside above below
outside past through""")

DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
SEASONS = "spring summer autumn winter".split()
TIMES = [
    "yesterday", "today", "tomorrow", "tonight", "this morning", "last night", "next week",
    "in the evening", "after lunch", "before dinner", "every day", "at noon", "at midnight",
    "last year", "this afternoon", "right now", "an hour ago", "a week ago", "every morning",
    "after school", "before breakfast", "later today",
]

NUMBERS = words("""two three four five six seven eight nine ten eleven twelve fifteen twenty
thirty forty fifty""")

COLORS = "red blue green yellow black white brown purple pink gray orange".split()


def plural(noun: str) -> str:
    if noun in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[noun]
    if noun.endswith(("s", "x", "ch", "sh")) or noun in ("potato", "tomato"):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def verb_forms(verb: str) -> tuple[str, str, str, str]:
    """(base, third person singular, past, present participle)."""
    if verb in IRREGULAR_VERBS:
        return (verb, *IRREGULAR_VERBS[verb])
    if verb.endswith("e"):
        return verb, verb + "s", verb + "d", verb[:-1] + "ing"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb, verb[:-1] + "ies", verb[:-1] + "ied", verb + "ing"
    third = verb + "es" if verb.endswith(("s", "x", "ch", "sh")) else verb + "s"
    return verb, third, verb + "ed", verb + "ing"


def with_article(phrase: str) -> str:
    vowel_sound = phrase[0] in "aeiou" and not phrase.startswith("use")
    return ("an " if vowel_sound else "a ") + phrase


class Picker:
    """Random choices from the word classes, through one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.nouns = ANIMALS + PEOPLE + THINGS

    def pick(self, words: list[str]) -> str:
        return self.rng.choice(words)

    def name(self) -> str:
        return self.pick(NAMES)

    def noun(self) -> str:
        return self.pick(self.nouns)

    def person(self) -> str:
        return self.pick(PEOPLE)

    def nouns_plural(self) -> str:
        return plural(self.noun())

    def adj(self) -> str:
        return self.pick(ADJECTIVES)

    def described(self) -> str:
        """A noun, half of the time with an adjective in front."""
        return f"{self.adj()} {self.noun()}" if self.rng.random() < 0.5 else self.noun()

    def verb(self, form: int = 0) -> str:
        return verb_forms(self.pick(TRANSITIVE_VERBS))[form]

    def act(self, form: int = 0) -> str:
        return verb_forms(self.pick(INTRANSITIVE_VERBS))[form]

    def place(self) -> str:
        return f"{self.pick(PREPOSITIONS)} the {self.pick(PLACES)}"

    def time(self) -> str:
        roll = self.rng.random()
        if roll < 0.15:
            return f"on {self.pick(DAYS)}"
        if roll < 0.25:
            return f"in the {self.pick(SEASONS)}"
        return self.pick(TIMES)

    def manner(self) -> str:
        return self.pick(MANNER_ADVERBS)

    def mass(self) -> str:
        return self.pick(MASS_NOUNS)

    def number(self) -> str:
        return self.pick(NUMBERS)

    def subject(self) -> str:
        roll = self.rng.random()
        if roll < 0.4:
            return self.name()
        if roll < 0.7:
            return f"the {self.described()}"
        return self.pick("he she".split())

    def plural_subject(self) -> str:
        return self.pick(["we", "they", f"the {plural(self.noun())}", f"{self.name()} and {self.name()}"])


PATTERNS: list[Callable[[Picker], str]] = [
    lambda p: f"the {p.adj()} {p.noun()} {p.verb(2)} the {p.noun()}.",
    lambda p: f"{p.name()} {p.verb(2)} {with_article(p.described())} {p.time()}.",
    lambda p: f"{p.name()} and {p.name()} {p.act(2)} {p.place()}.",
    lambda p: f"my {p.noun()} is {p.pick(DEGREE_WORDS)} {p.adj()}.",
    lambda p: f"can you {p.verb()} the {p.noun()} {p.place()}?",
    lambda p: f"i don't think the {p.noun()} is {p.adj()}.",
    lambda p: f"there are {p.number()} {p.nouns_plural()} {p.place()}.",
    lambda p: f"{p.name()}'s {p.noun()} was {p.adj()} {p.time()}.",
    lambda p: f"we'll {p.verb()} the {p.nouns_plural()} {p.time()}.",
    lambda p: f"they're {p.act(3)} {p.place()}.",
    lambda p: f"why did {p.name()} {p.verb()} the {p.described()}?",
    lambda p: f"{p.subject()} {p.pick(FREQUENCY_ADVERBS)} {p.verb(1)} {p.mass()} {p.time()}.",
    lambda p: f"it's {p.adj()} {p.place()} {p.time()}.",
    lambda p: f"{p.subject()} {p.act(2)} {p.manner()} {p.place()}.",
    lambda p: f"the {p.nouns_plural()} {p.act(2)} {p.manner()}.",
    lambda p: f"please {p.verb()} the {p.described()} for me.",
    lambda p: f"where is the {p.described()}?",
    lambda p: f"do you want {p.mass()} or {p.mass()}?",
    lambda p: f"{p.name()} didn't {p.verb()} the {p.noun()} because it was {p.adj()}.",
    lambda p: f"if it rains {p.time()}, we won't {p.act()}.",
    lambda p: f"the {p.noun()} {p.place()} looks {p.adj()}.",
    lambda p: f"i've never seen such {with_article(p.adj())} {p.noun()}.",
    lambda p: f"let's {p.verb()} {with_article(p.described())} {p.time()}.",
    lambda p: f"{p.number()} {p.adj()} {p.nouns_plural()} {p.act(2)} {p.place()}.",
    lambda p: f"{p.name()} gave {p.name()} {with_article(p.described())} {p.time()}.",
    lambda p: f"what's in the {p.adj()} {p.noun()}?",
    lambda p: f"he couldn't find his {p.noun()} {p.place()}.",
    lambda p: f"our {p.noun()} has {p.number()} {p.nouns_plural()}.",
    lambda p: f"the {p.person()} told us {with_article(p.adj())} story about {with_article(p.noun())}.",
    lambda p: f"is the {p.noun()} {p.adj()} or {p.adj()}?",
    lambda p: f"{p.plural_subject()} {p.verb(2)} {p.number()} {p.pick(COLORS)} {p.nouns_plural()}.",
    lambda p: f"{p.subject()} is {p.verb(3)} the {p.described()} {p.place()}.",
    lambda p: f"you shouldn't {p.verb()} that {p.noun()}, it's {p.adj()}.",
    lambda p: f"she wasn't {p.adj()}, she was {p.adj()}.",
    lambda p: f"{p.subject()} {p.verb(1)} {p.mass()} {p.manner()}.",
    lambda p: f"how many {p.nouns_plural()} did you {p.verb()} {p.time()}?",
    lambda p: f"the {p.person()} {p.act(2)} while the {p.nouns_plural()} {p.act(2)}.",
    lambda p: f"that's the {p.pick(['best', 'worst', 'oldest', 'newest'])} {p.noun()} {p.place()}.",
    lambda p: f"{p.plural_subject()} can't {p.act()} {p.place()} {p.time()}.",
    lambda p: f"{p.name()} wanted to {p.verb()} {p.number()} {p.nouns_plural()}.",
]

CAPITALIZED = set(NAMES) | set(DAYS) | {"i"}


def natural_case(sentence: str) -> str:
    """Capitalize names, days, the pronoun I (with its contractions) and the first word."""
    words = sentence.split(" ")
    for index, word in enumerate(words):
        stem = word.rstrip(".,?").split("'")[0]
        if stem in CAPITALIZED:
            words[index] = word[0].upper() + word[1:]
    words[0] = words[0][0].upper() + words[0][1:]
    return " ".join(words)


def sentence(picker: Picker) -> str:
    return natural_case(picker.rng.choice(PATTERNS)(picker))


def draw_unique(picker: Picker, count: int, taken: set[str], max_words: int | None = None) -> list[str]:
    drawn: list[str] = []
    while len(drawn) < count:
        text = sentence(picker)
        if text in taken or (max_words is not None and len(text.split()) > max_words):
            continue
        taken.add(text)
        drawn.append(text)
    return drawn


def make_splits(seed: int, n_train: int, n_valid: int, n_test: int, test_max_words: int) -> dict[str, list[str]]:
    """Distinct sentences per split; held-out splits are drawn first, so none reaches training."""
    taken: set[str] = set()
    return {
        "test": draw_unique(Picker(random.Random(seed * 3 + 1)), n_test, taken, test_max_words),
        "valid": draw_unique(Picker(random.Random(seed * 3 + 2)), n_valid, taken),
        "train": draw_unique(Picker(random.Random(seed * 3 + 3)), n_train, taken),
    }
