"""Delegates service: delegates, groups, the leader/committee registry and supervision assignments."""
from services.delegates.main import main

main()
