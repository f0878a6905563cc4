"""Backing services as add-ons: the servers paas runs for them (containers) and the private
networks that let an app's processes reach only the add-ons attached to it."""
