"""The activities service: activities of delegate groups (Activity) and project contact points (ContactPoint)."""
