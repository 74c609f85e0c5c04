"""framecast core: orchestration, policy, rendering and state. Imports no chat or UI library."""
