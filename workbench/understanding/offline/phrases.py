"""Phrases the offline generator recognises: cancel, repeat, skip, small talk, prompt
injection, corrections. Plain regular expressions over normalised text."""

from __future__ import annotations

import re

FILLER = (
    r"(?:please|pls|ok|okay|oh|no|nah|nope|actually|wait|hmm+|um+|uh+|sorry|just|thanks|"
    r"thank you|then|so|well|oops|ah|hey|look|i said|i mean|you know|right now|now|"
    r"for now|already|anymore|any more)"
)
CANCEL_CLAUSE = re.compile(
    r"(?:stop|cancel|quit|abort|exit|halt|enough|nevermind|never mind|nvm|"
    r"forget (?:it|about it|that|this|everything|all of it)|"
    r"(?:i )?(?:have |had )?changed my mind|"
    r"i (?:do not|no longer) want (?:to (?:do|continue|go on with) )?(?:this|that|it)|"
    r"i do not want to (?:continue|go on|do this|do that)|"
    r"(?:stop|cancel|abort|end|quit|drop|scrap|scratch) (?:it|this|that|everything|all|"
    r"the (?:process|request|whole thing)|this (?:process|request|flow|conversation))|"
    r"(?:i (?:want|would like|need) to|let us|can we|could we|can you|could you) "
    r"(?:stop|cancel|quit|abort)(?: (?:it|this|that|everything))?|"
    r"scratch that|not interested|i am not interested|i am done|do not bother|leave it)"
)
# a first clause that drops what is going on, whatever reason follows ("never mind, I'll
# pay at the desk")
LEADING_CANCEL = re.compile(
    r"(?:never mind|nevermind|nvm|forget (?:it|about it|that|this)|scratch that|"
    r"(?:i )?(?:have )?changed my mind|(?:i )?do not bother)"
)
# "one moment": the user needs time, which answers nothing
HOLD_ON = re.compile(
    r"(?:(?:one|a|just a|give me a|wait a) (?:moment|sec|second|minute|min|mo)|"
    r"hang on|hold on|wait|brb|be right back|let me (?:check|look|see|find (?:it|that))|"
    r"i will (?:check|look)|i need to (?:check|look))"
)
# cancelling words that also name what to cancel ("cancel it" may mean "cancel my order")
CANCEL_WITH_OBJECT = re.compile(r"cancel")
REPEAT_CLAUSE = re.compile(
    r"(?:repeat|repeat (?:that|it|this|the question|yourself|the last message|please)|"
    r"(?:can|could|would|will) you (?:please )?(?:repeat|say) (?:that|it|this|the question)"
    r"(?: again)?|(?:can|could|would|will) you (?:please )?repeat|say (?:that|it) again|"
    r"come again|say that|what did you (?:just )?say|what was that|pardon|pardon me|excuse me|"
    r"sorry what|what|huh|i did not (?:get|catch|hear|understand) (?:that|it|you|what you said)|"
    r"what was the question|one more time|again please|again)"
)
SKIP_CLAUSE = re.compile(
    r"(?:skip|skip (?:it|this|that|this question|the question|this one|this step|ahead)|"
    r"next question|pass|i (?:would )?(?:rather|prefer) not (?:to )?(?:say|answer|tell)|"
    r"i do not want to (?:answer|say|tell)(?: that| this| you)?|"
    r"(?:can|could) (?:i|we) skip (?:this|that|it|this question|the question)|"
    r"let us skip (?:this|that|it))"
)
GREETING = re.compile(
    r"(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day)|"
    r"hey there|hi there|hello there)(?: \w+)?"
)
SMALL_TALK = re.compile(
    r"\b(?:jokes?|funny|weather|how are you|how is it going|how are things|how do you do|"
    r"how is (?:your|the) (?:day|week|morning|evening|weekend)|"
    r"what is up|whats up|wassup|who are you|what are you|"
    r"are you (?:a |an )?(?:bot|robot|human|real|ai|person|machine|chatbot)|"
    r"your name|how old are you|where are you from|where do you live|do you like|"
    r"favou?rite|meaning of life|sing me|a song|a poem|a story|love you|marry me|bored|"
    r"are you there|what do you think about|your opinion|tell me about yourself|"
    r"you are (?:smart|funny|great|stupid|dumb|awesome|cool|useless|nice|clever)|"
    r"good bot|bad bot|lol|haha+|thank you so much|nice to meet you)\b"
)
POLITE_ONLY = re.compile(
    r"(?:thanks|thank you|thx|ty|cheers|great|cool|nice|awesome|perfect|ok|okay|lol|haha+|"
    r"bye|goodbye|good bye|see you|see ya|wow|hmm+)(?: (?:a lot|so much|very much|again))?"
)
INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b(?:\s+\w+){0,3}?\s+"
    r"(?:instructions?|prompts?|rules|directions|guidelines|system messages?|context)\b"
    r"|\bsystem prompt\b|\byou are now\b|\b(?:developer|dan|god|admin) mode\b|\bjailbreak"
    r"|\bpretend (?:to be|you are)\b|\bnew instructions\b|\bact as (?:a|an|the|my)\b"
    r"|\b(?:print|reveal|show|output) (?:your|the) (?:prompt|instructions)\b"
)
QUESTION_START = re.compile(
    r"(?:what|how|when|where|why|which|who|whom|whose|do you|does|did|is there|are there|"
    r"is it|are you|can i|can you|could you|could i|should i|will you|would you|may i|"
    r"do i|am i|is my|are my|is your|are your)\b"
)
WH_START = re.compile(r"(?:what|how|when|where|why|which|who)\b")
# a question that asks for information, not a request ("can you ...") or an answer put
# as a question ("what about Friday?", "how about the second one?")
INFO_QUESTION = re.compile(
    r"(?:what|how|when|where|why|which|who|whom|whose|do|does|did|is|are|am|was|were)\b"
    r"(?! about\b)(?! if\b)"
)
REQUEST = re.compile(
    r"^(?:(?:hi|hello|hey|ok|okay|actually|wait|sorry|oh|so|and|also|but|please|no|yes|"
    r"yeah|well|hmm|um|first)\b[\s,.!]*)*"
    r"(?:i (?:want|would like|would love|need|wanna|wish|am trying|have to|must|was hoping)"
    r"|i (?:would|will) (?:also )?like|can (?:you|i|we)|could (?:you|i|we)|would you|will you|"
    r"how (?:do|can|many|much|long|does|is)|where|when|what|which|why|is it possible|please|"
    r"let me|let us|help me|show me|tell me|give me|i am looking|check|cancel|track|change|"
    r"update|return|talk|connect|start|open|leave|book|order|buy|get me)\b"
)
INTERJECTION = re.compile(
    r"(?:no|nope|nah|oh|oops|whoops|sorry|wait|hmm+|um+|uh+|ah|my bad|my mistake|apologies|"
    r"oh no|no wait|hold on)\b[\s,.!:;-]*",
    re.IGNORECASE,
)
CORRECTION_MARKERS = (
    re.compile(r"actually\b[\s,.:;-]*", re.IGNORECASE),
    re.compile(
        r"(?:please\s+)?(?:make|change|switch|update|correct)\s+(?:it|that|this)\s+(?:to|into)\s+",
        re.IGNORECASE,
    ),
    re.compile(r"(?:please\s+)?make\s+(?:it|that|this)\s+", re.IGNORECASE),
    re.compile(r"i\s+mean(?:t)?\b(?:\s+to\s+say)?[\s,:;-]*", re.IGNORECASE),
    re.compile(r"(?:it|that)\s+should\s+(?:be|have\s+been)\s+", re.IGNORECASE),
    re.compile(r"correction[\s,.:;-]+", re.IGNORECASE),
)
IT_IS = re.compile(r"(?:it|that)(?:['\u2019]s|\s+is|\s+was)\s+", re.IGNORECASE)
NAMED_CHANGE = re.compile(
    r"(?:please\s+)?(?:(?:can|could)\s+you\s+)?(?:change|update|correct|set|switch|make)\s+"
    r"(?:the|my|our)\s+(?P<named>[\w\s'-]{1,40}?)\s+(?:to|into|as)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
NAMED_IS = re.compile(
    r"(?:the|my|our)\s+(?P<named>[\w\s'-]{1,40}?)\s+(?:should\s+be|is\s+actually|is\s+really|"
    r"was\s+supposed\s+to\s+be|is\s+not\s+right,?\s+it\s+is)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
# "no, the handle is @bar": a plain "is" counts only after an interjection
NAMED_PLAIN_IS = re.compile(
    r"(?:the|my|our)\s+(?P<named>[\w\s'-]{1,40}?)\s+(?:is|was)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
CORRECTION_TAIL = re.compile(
    r"(?:[\s,.!;]+(?:instead|please|thanks|thank you|not\s+[\w@.-]+|rather))+[\s.!]*$",
    re.IGNORECASE,
)
RATING_CUE = re.compile(
    r"(?:\b(?:rate|rating|score|give)\b[^.?!]{0,20}?(?<![\w.])(?P<a>[\d.,]+|[a-z]+)\b)"
    r"|(?:(?<![\w.])(?P<b>[\d.,]+|[a-z]+)\s*(?:stars?|/\s*\d+|out of \d+|points?)\b)",
    re.IGNORECASE,
)


def clauses(norm: str) -> list[str]:
    parts = re.split(r"[,.;:!?]+|\s+(?:and|then|but|so)\s+", norm)
    return [p.strip() for p in parts if p and p.strip()]


def strip_fillers(clause: str) -> str:
    pattern = re.compile(rf"^(?:{FILLER}\s+)+|(?:\s+{FILLER})+$")
    previous = None
    while previous != clause:
        previous = clause
        clause = pattern.sub("", clause).strip()
    return clause


def all_clauses(norm: str, clause: re.Pattern[str]) -> bool:
    """Every clause of the message is `clause` or filler, and at least one is `clause`."""
    text = re.sub(r"[\"'`()\[\]]", " ", norm)
    found = False
    for part in clauses(text):
        stripped = strip_fillers(part)
        if not stripped or re.fullmatch(FILLER, stripped):
            continue
        if not clause.fullmatch(stripped):
            return False
        found = True
    return found
