"""adhere's built-in pool of task seeds: everyday requests with no constraint in them.

Written for adhere (none is taken from IFEval or IFBench; a test checks). The pool is the 60
hand-written tasks of ``bench/tasks.py`` plus request templates crossed with topics, a few
hundred tasks in all, so that synthesized prompts vary in both what is asked and about what.
"""

from __future__ import annotations

import functools

from adhere.bench.tasks import TASKS

TEMPLATES = (
    "Explain {topic} to a curious twelve-year-old.",
    "Write a short blog post about {topic}.",
    "Give practical advice for a beginner interested in {topic}.",
    "Describe the history of {topic} in a few paragraphs.",
    "List common misconceptions about {topic} and correct them.",
    "Write a friendly email inviting a colleague to a talk on {topic}.",
    "Compare two different approaches to {topic}.",
    "Write a short story in which {topic} plays a central role.",
    "Summarize the main arguments for and against investing time in {topic}.",
    "Draft a one-page guide to {topic} for a community newsletter.",
)

TOPICS = (
    "urban gardening", "the history of tea", "learning to swim as an adult", "home energy saving",
    "birdwatching", "public libraries", "night trains", "board games", "bread baking",
    "cycling to work", "volunteering", "personal budgeting", "rainwater harvesting",
    "amateur astronomy", "learning a second language", "repairing old furniture", "street food",
    "local elections", "recycling electronics", "keeping bees", "mountain hiking safety",
    "digital photography", "writing a diary", "choosing a first car", "community radio",
    "sleep habits", "kitchen knives", "indoor climbing", "saving seeds", "public transport maps",
    "folk music", "ceramics", "weather forecasting", "chess openings", "first aid at home",
    "moving to a new city", "time management", "composting", "sourdough starters", "kite flying",
)  # fmt: skip


@functools.cache
def builtin_seeds() -> tuple[str, ...]:
    """The built-in task seeds, in a fixed order."""
    crossed = [template.format(topic=topic) for topic in TOPICS for template in TEMPLATES]
    return tuple(dict.fromkeys([*TASKS, *crossed]))


#: Skills for Instruct-SkillMix-style prompts: a prompt asks for two of them at once.
SKILLS = (
    "use a vivid analogy", "anticipate a counterargument", "give a concrete numerical example",
    "explain a cause and its effect", "use a touch of humour", "summarize in a closing takeaway",
    "compare two options fairly", "define a technical term in plain words",
    "tell a short anecdote", "ask the reader a rhetorical question", "give step-by-step instructions",
    "point out a common mistake", "appeal to the reader's emotions", "cite a historical example",
    "adapt the tone for a child", "write persuasively",
)  # fmt: skip
