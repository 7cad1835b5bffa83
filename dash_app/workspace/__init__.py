"""The agents' workspace: its API client, the sessions' API tokens, the inbox's views and a conversation's history."""
