"""The choices a project (or the command line) names by value: the Rasa version whose
behaviour to follow and the command prompt a model gets.

A module of constants: the command line parses its options against these before anything
is loaded.
"""

RASA_3_14, RASA_3_21 = "3.14", "3.21"
RASA_VERSIONS = (RASA_3_14, RASA_3_21)
DEFAULT_RASA_VERSION = RASA_3_21
# the command prompt a model gets when the project names no `prompt_template`: Rasa's own
# default (read from the installed rasa-pro) or the workbench's
PROMPT_CHOICES = ("rasa", "workbench")
