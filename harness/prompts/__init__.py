"""Recording a platform's own prompts as reference audio (``ccharness prompts capture``).

``plan`` picks the scenarios and prompts, ``replay`` walks a scenario on real
calls and cuts out what it hears (``listen`` stands in for the steps that
judge: a capture only listens), ``cut`` is the audio (sound, pause, trim,
level), ``take`` tells apart prompts played back to back, ``library`` writes
the result, ``capture`` puts them together.
"""
