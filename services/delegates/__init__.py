"""Delegates service: delegates and their terms, groups, leaders and committees, supervision."""
