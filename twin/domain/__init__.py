"""The rules of the twin: who sees what (access), accounts, the governance loop (workflow, monitor), field links, personal data, units and roll-ups."""
