"""Sentiment-free headline scaffolding: who, does what, to what, when/where.

The lexicons rate sentiment words only, so the training text needs the flat
rest of a news headline from somewhere; these lists are ours, written for the
demo model and kept free of words the VADER lexicon rates (``neutral_words``
drops any that are, so a list edit cannot smuggle sentiment in). They are
generic news vocabulary, not copied from the evaluation sets; that no
training sentence shares four words in a row with an evaluation headline is
checked per sentence in training_data.py.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

SUBJECTS = """
council committee parliament senate ministry minister mayor governor president chancellor
regulator agency authority commission court judge jury panel board trustees
company firm startup retailer supermarket grocer carmaker automaker airline railway operator
insurer lender bank brokerage fund investors shareholders analysts economists traders
university college school academy students teachers researchers scientists engineers doctors
nurses hospital clinic pharmacy laboratory museum gallery library theatre orchestra choir
club team coach players athletes league federation festival organisers broadcaster network
newspaper publisher studio developer designer architect builder contractor landlord tenants
residents villagers farmers fishermen miners workers union employees staff managers executives
officials spokesperson inspectors auditors statisticians surveyors census agency
town city village county district region province state nation country capital suburb port
harbour airport station terminal factory plant warehouse depot refinery mill brewery bakery
software chipmaker telecom utility operator carrier shipper courier postal service
""".split()

VERBS = """
announces reports publishes releases confirms says expects plans proposes considers reviews
discusses debates schedules moves opens launches introduces updates adjusts changes extends
renames appoints names hires elects nominates signs files submits presents outlines describes
measures counts surveys records lists maps tests studies examines compares tracks estimates
orders buys sells ships delivers builds installs repairs replaces upgrades converts relocates
meets visits hosts holds attends organises prepares completes starts begins resumes continues
""".split()

OBJECTS = """
budget plan proposal schedule timetable agenda report figures data statistics estimates
results accounts minutes guidance rules regulations policy framework standards procedures
contract agreement tender licence permit application request filing notice statement
headquarters office building terminal station depot warehouse branch store outlet site campus
route line service network system platform website app software version model edition
prices fees tariffs rates wages salaries taxes levies charges costs spending revenue output
shares bonds index currency stocks exports imports shipments orders inventory capacity
survey census study review inquiry audit assessment inspection consultation hearing session
vote ballot election referendum poll candidates members delegates representatives
meeting conference summit forum exhibition fair festival concert season tournament match
bridge road tunnel railway motorway highway bus tram ferry train aircraft vessel truck
water electricity gas fuel grain wheat corn timber steel copper aluminium cement paper
""".split()

TAILS = """
on monday|on tuesday|on wednesday|on thursday|on friday|on saturday|on sunday|this week|next week|
this month|next month|this year|next year|in january|in february|in march|in april|in may|in june|
in july|in august|in september|in october|in november|in december|in the spring|in the autumn|
for the third quarter|for the fiscal year|for the coming season|after the summer break|
in the capital|in the north|in the south|in the east|in the west|downtown|in the suburbs|
across the region|in three districts|at the town hall|at the annual meeting|in a statement|
in a filing|according to officials|according to the agency|as expected|as scheduled|
for the second time|ahead of the vote|before the deadline|after the review|
in brussels|in vienna|in geneva|in ottawa|in canberra|in madrid|in lisbon|in oslo|in warsaw|
in dublin|in nairobi|in lima|in osaka|in seoul|in hanoi|in cairo|in quito|in riga
""".replace("\n", "").split("|")

NUMBERS = """two three four five six seven eight nine ten twelve twenty thirty forty fifty hundreds
thousands dozens several""".split()


def neutral_words(words: list[str], lexicon: Mapping[str, float]) -> list[str]:
    """``words`` without any the lexicon rates (a rated word would make a 'flat' frame polar)."""
    return [w for w in words if not any(part in lexicon for part in w.split())]


class Frames:
    """Draws flat headlines from the lists above, minus every word the lexicon rates."""

    def __init__(self, lexicon: Mapping[str, float]) -> None:
        self.subjects = neutral_words(SUBJECTS, lexicon)
        self.verbs = neutral_words(VERBS, lexicon)
        self.objects = neutral_words(OBJECTS, lexicon)
        self.tails = neutral_words(TAILS, lexicon)
        self.numbers = neutral_words(NUMBERS, lexicon)

    def words(self) -> list[str]:
        return sorted({w for group in (self.subjects, self.verbs, self.objects, self.tails, self.numbers)
                       for phrase in group for w in phrase.split()})

    def draw(self, rng: random.Random) -> list[str]:
        """One flat headline as a word list, e.g. ['regulator', 'reviews', 'rail', 'tariffs', 'next', 'week']."""
        words = [rng.choice(self.subjects), rng.choice(self.verbs)]
        if rng.random() < 0.3:
            words.append(rng.choice(self.numbers))
        words.append(rng.choice(self.objects))
        if rng.random() < 0.4:
            words.append(rng.choice(self.objects))
        if rng.random() < 0.6:
            words += rng.choice(self.tails).split()
        return words
