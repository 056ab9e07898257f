"""`nocbot doctor`: independent checks of the configuration, each returning findings with their fix.

A check is `async (environ) -> list[Finding]`: it reads only the variables it needs from the
mapping it is given (the command passes a copy of the environment), so it can be run and tested on
its own. `CHECKS` in `bot.doctor.registry` is the list the command runs; add a check there.
"""
