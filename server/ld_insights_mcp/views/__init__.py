"""Pure presentation: LaunchDarkly models in, compact result models and text out."""
