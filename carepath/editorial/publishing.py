"""WAGTAIL_FINISH_WORKFLOW_ACTION. Its own module: Wagtail imports it while defining its models, before ours load."""


def publish_approved_revision(workflow_state, user=None):
    """The approval is the authority to publish, so the approving reviewer needs no publish permission of their
    own (which would let them publish around the workflow)."""
    workflow_state.content_object.get_latest_revision().publish(user=user, skip_permission_checks=True)
