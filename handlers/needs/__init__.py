"""The needs capability's handlers: each module declares its own `capability` (filing, browsing
and support, moderation), listed in `handlers.CAPABILITIES`."""
