"""Running what the policy asks for: responses, built-in and custom actions."""
