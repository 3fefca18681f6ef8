"""Deterministic, realistic-looking memory texts and queries for the speed benchmark."""

import random

TEMPLATES = [
    "I prefer {drink} in the {daypart}, never after {hour}.",
    "My {relative} {name} lives in {city} and works as a {job}.",
    "I'm allergic to {food}; {name} knows to avoid it when cooking.",
    "I'm learning {language} with an app, about {minutes} minutes a day.",
    "My favourite {genre} book is by an author from {city}.",
    "I go {hobby} with {name} most {weekday}s near {city}.",
    "Remind me to {chore} before {weekday}.",
    "I work as a {job} and my team uses {tool} every day.",
    "I'm planning a trip to {city} in {month} with my {relative}.",
    "My {pet} is called {name} and is {minutes} months old.",
    "I don't eat {food} since {month} for health reasons.",
    "I usually commute by {transport} and it takes {minutes} minutes.",
    "For dinner I like {cuisine} food, ideally with {drink}.",
    "My {relative}'s birthday is in {month}; they love {hobby}.",
    "I'm saving up for a new {gadget} before {month}.",
    "I'm training for a {distance} run in {city} this {season}.",
    "I play {instrument} in a band with {name} on {weekday}s.",
    "At work I'm migrating our {tool} setup to {tool2} this {season}.",
    "I sleep badly when I have {drink} after {hour}.",
    "My doctor in {city} told me to cut down on {food}.",
    "I'd rather get replies in {language} when I ask about {genre} books.",
    "The {gadget} I bought in {month} keeps disconnecting from {tool}.",
    "I volunteer at the {place} in {city} every other {weekday}.",
    "I want to read more {genre} this {season}, maybe one book a month.",
]

VOCABULARY = {
    "drink": "green tea|black coffee|oat latte|espresso|mint tea|hot chocolate|sparkling water"
    "|matcha|chai|orange juice|kombucha|decaf",
    "daypart": "morning|afternoon|evening|late morning|early evening",
    "hour": "2 pm|4 pm|6 pm|8 pm|9 pm|10 pm|noon",
    "relative": "sister|brother|mother|father|cousin|aunt|uncle|grandmother|partner|daughter|son",
    "name": "Alice|Bram|Chen|Dara|Emil|Fatima|Goran|Hana|Ilse|Jonas|Kofi|Lena|Mateo|Nadia|Oskar"
    "|Priya|Quinn|Rosa|Sami|Tomas|Uma|Vera|Wim|Yara|Zeno",
    "city": "Lisbon|Utrecht|Kyoto|Denver|Porto|Ghent|Oslo|Leeds|Lyon|Graz|Austin|Bergen|Seville"
    "|Tallinn|Krakow|Valencia|Bristol|Malmo|Basel|Turin",
    "job": "nurse|data engineer|teacher|carpenter|product designer|accountant|pharmacist"
    "|civil engineer|translator|chef|paramedic|librarian",
    "food": "peanuts|shellfish|gluten|dairy|eggs|soy|sesame|red meat|sugar|strawberries",
    "language": "Spanish|Japanese|Dutch|Portuguese|German|Italian|Korean|Polish|Swedish",
    "minutes": "10|15|20|25|30|40|45|50|60|90",
    "genre": "science fiction|mystery|history|poetry|fantasy|biography|cookbook|travel|horror",
    "hobby": "hiking|climbing|cycling|swimming|birdwatching|kayaking|running|sketching|fishing",
    "weekday": "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday",
    "chore": "renew my passport|call the landlord|book the dentist|pay the council tax"
    "|water the plants|back up my laptop|return the library books|order contact lenses",
    "tool": "Kubernetes|Postgres|Figma|Jira|Excel|Terraform|Django|Slack|Notion|Airflow",
    "tool2": "Nomad|MySQL|Sketch|Linear|Sheets|Pulumi|FastAPI|Teams|Confluence|Dagster",
    "month": "January|February|March|April|May|June|July|August|September|October|November"
    "|December",
    "pet": "dog|cat|rabbit|parrot|tortoise|hamster",
    "transport": "bike|train|bus|tram|car|scooter|ferry",
    "cuisine": "Thai|Ethiopian|Mexican|Georgian|Japanese|Lebanese|Indian|Peruvian|Greek",
    "gadget": "camera|laptop|e-reader|phone|headset|smartwatch|espresso machine|drone",
    "distance": "5k|10k|half-marathon|marathon|trail",
    "season": "spring|summer|autumn|winter",
    "instrument": "bass|drums|piano|violin|guitar|trumpet|cello",
    "place": "food bank|animal shelter|community garden|library|repair cafe|hospice",
    "day": "|".join(str(day) for day in range(1, 29)),
}
# A second clause, as people add when and why: makes texts distinct without making them odd.
CONTEXTS = [
    "",
    " Mentioned on {day} {month}.",
    " {name} brought it up on a {weekday}.",
    " Still true as of {month}.",
    " Came up while talking about {hobby}.",
    " Said so on the {transport} on {day} {month}.",
]
_WORDS = {slot: words.split("|") for slot, words in VOCABULARY.items()}


def memory_texts(count: int, seed: int) -> list[str]:
    """`count` distinct texts; the same seed always gives the same list."""
    rng = random.Random(seed)
    texts, seen = [], set()
    while len(texts) < count:
        template = rng.choice(TEMPLATES) + rng.choice(CONTEXTS)
        text = template.format(**{slot: rng.choice(words) for slot, words in _WORDS.items()})
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts


QUESTIONS = [
    "What do I like to drink in the {daypart}?",
    "Where does my {relative} live?",
    "What am I allergic to?",
    "Which language am I learning?",
    "When do I go {hobby}?",
    "What should I do before {weekday}?",
    "What tools does my team use at work?",
    "Where am I travelling in {month}?",
    "What is my {pet} called?",
    "How do I get to work?",
    "What kind of food do I like for dinner?",
    "What am I saving up for?",
    "Which race am I training for?",
    "Who do I play {instrument} with?",
    "Where do I volunteer?",
    "What should I avoid eating?",
]


def queries(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        rng.choice(QUESTIONS).format(**{slot: rng.choice(words) for slot, words in _WORDS.items()})
        for _ in range(count)
    ]
