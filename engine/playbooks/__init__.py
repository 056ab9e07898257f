"""Playbooks: remediation that runs on approval, step by step, with an audit trail.

The pure parts live here (the spec, the file reader, matching, templating, the run's state
machine); `engine.playbook_runs` persists and executes runs, `integrations.playbook_steps` does
their I/O.
"""

from engine.playbooks.loader import LibraryError, PlaybookLibrary, Problem, load_library, read_playbook
from engine.playbooks.people import Person

__all__ = ["LibraryError", "Person", "PlaybookLibrary", "Problem", "load_library", "read_playbook"]
