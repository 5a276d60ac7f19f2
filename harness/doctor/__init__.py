"""``ccharness doctor``: a pre-flight check of a target profile against its platform.

Eight checks, in order, each with its own deadline, each reported as lines of
:class:`~harness.doctor.finding.Finding` (ok, FAIL, WARN or skipped, with a
one-line fix hint for every problem):

1. ``reach``     the host resolves and answers on the SIP port (UDP: an OPTIONS probe; TCP/TLS: connect)
2. ``options``   SIP OPTIONS gets a final response (any status means alive)
3. ``register``  every account that registers does so with its credentials
4. ``call``, ``codec``, ``audio``  a test call to a DID is answered, a codec agreed, sound received
5. ``dtmf``      the profile's ``doctor.dtmf_probe``: digits in the configured method lead to a prompt
6. ``recordings`` the platform API (the profile's adapter) is reachable and takes our credentials
7. ``clock``     the platform's clock (HTTP or SIP ``Date``) is within 2 s of ours
8. ``recname``   a recorded test call: which ``adapter.recording_name`` template names its
   recording (``doctor.recorded_call`` says whom to call and which agent answers)

The SIP checks use the harness's own phones (:mod:`harness.sip.controller`);
the probe of checks 1-2 is a plain socket (:mod:`harness.sip.options`).
"""
