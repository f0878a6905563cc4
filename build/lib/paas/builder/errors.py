class BuildFailed(Exception):
    """The app's own build failed: the message is for the pusher."""
