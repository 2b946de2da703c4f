"""Which of Mailchimp's answers refuse a contact for good, and where each is documented.

Mailchimp names the kind of an error in the ``title`` of its problem+json body
(mailchimp.com/developer/marketing/docs/errors/). Three answers to a member upsert mean it will
not take this contact however often it is asked:

- ``400 Forgotten Email Not Subscribed``: "<email> was permanently deleted and cannot be
  re-imported. The contact must re-subscribe to get back on the list." (captured responses:
  hitobito/hitobito#1930, a batch operation's result; pastebin QYm97nCC). Mailchimp keeps a
  permanently deleted address to stop it being added again (mailchimp.com/help/delete-contacts/).
- ``400 Member In Compliance State``: "<email> is in a compliance state due to unsubscribe,
  bounce, or compliance review and cannot be subscribed." (captured:
  ibericode/mailchimp-for-wordpress#798, tbar0970/jethro-pmm#656).
- ``400 Invalid Resource`` saying the address "looks fake or invalid, please enter a real email
  address" (Arcadier/Mailchimp-Exporter wiki, "Mailchimp Sync Errors"), or naming the
  ``email_address`` field.

Anything else is not about the contact for good: 429 and 5xx are retried by the retry policy
and the batch rounds; other 4xx (a merge value refused, a member not in the audience yet) are
reported as failed and sent again next push.
"""

from __future__ import annotations

from connectors.mailchimp.operations import Failure
from connectors.sdk import Refusal, RefusalReason

_BY_TITLE = {
    "Forgotten Email Not Subscribed": RefusalReason.FORGOTTEN,
    "Member In Compliance State": RefusalReason.COMPLIANCE,
}


def refusal(failure: Failure) -> Refusal | None:
    """The permanent refusal ``failure`` is, or ``None`` when sending again may work."""
    if failure.status != 400:
        return None
    reason = _BY_TITLE.get(failure.title)
    if reason is None and ("looks fake or invalid" in failure.detail
                           or "email_address:" in failure.detail):
        reason = RefusalReason.INVALID_ADDRESS
    return Refusal(reason, failure.detail or failure.title) if reason else None
