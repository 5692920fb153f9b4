# The event contract, in one place: generates schemas/events/<service>/<event>.v1.json and
# pkg/events/<service>_gen.go and schemas/asyncapi.yaml. Run: make generate (this script, then gofmt).
import json, os, sys

ID = {"type": "string", "minLength": 1, "maxLength": 64}
TOKEN = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z0-9][a-z0-9_-]*$"}
TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
STAGE = {"type": "string", "enum": ["potential", "coalescing", "maturing", "stewardship", "transformation"]}
def S(n=200, min1=True): return {"type": "string", "maxLength": n, **({"minLength": 1} if min1 else {})}
def A(item): return {"type": "array", "items": item}
INT = {"type": "integer"}
NUM = {"type": "number"}
OBJ = {"type": "object"}
GRANT_ROLE = {"type": "string", "enum": ["national", "hub", "coordinator", "working_group", "member"]}
# A poll's aggregates, one entry per question (feedback's contract; knowledge reads ranking
# questions as learning priorities and the "confidence" question's mean, the console the
# confidence, usefulness and check-in answers).
COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
RESULTS = {"type": "object", "required": ["questions"], "properties": {"questions": {"type": "array", "items": {
    "type": "object", "required": ["key", "kind"], "properties": {
        "key": {"type": "string"}, "kind": {"type": "string", "enum": ["scale", "choice", "ranking", "words"]},
        "prompt": {"type": "string"},
        # scale: how many chose each point and the mean; choice: how many chose each option.
        "mean": {"type": "number"}, "distribution": COUNTS, "counts": COUNTS,
        # ranking: the method, its tie-break, the options in aggregate order.
        "method": {"type": "string"}, "tie_break": {"type": "string"},
        "ranking": {"type": "array", "items": {"type": "object", "required": ["option", "position"], "properties": {
            "option": {"type": "string"}, "position": {"type": "integer", "minimum": 1}, "score": {"type": "number"},
            "first_places": {"type": "integer", "minimum": 0}}}},
        # words: normalised entries, how many responses gave each and their share (0-1).
        "words": {"type": "array", "items": {"type": "object", "required": ["word", "count"], "properties": {
            "word": {"type": "string"}, "count": {"type": "integer", "minimum": 0},
            "frequency": {"type": "number", "minimum": 0, "maximum": 1}}}}}}}}}

# field: (json name, Go name, Go type, schema, required)
def f(j, g, t, s, req=True): return (j, g, t, s, req)

EVENTS = {
 "registry": [
  ("region_created", "RegionCreated", "A region was added to the network.",
   [f("region_id","RegionID","string",TOKEN), f("name","Name","string",S(200))]),
  ("cop_proposed", "CoPProposed", "A CoP was proposed and entered onboarding.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("name","Name","string",S(200)),
    f("scope","Scope","string",{"type":"string","enum":["local","regional","national"]}),
    f("topics","Topics","[]string",A(S(100))), f("host_organisations","HostOrganisations","[]string",A(S(200))),
    f("stage","Stage","string",STAGE),
    f("applicant_id","ApplicantID","string",ID,False)]),
  ("cop_changes_requested", "CoPChangesRequested", "The hub asked the applicant of a proposed CoP for changes before deciding; the proposal waits for the applicant to resubmit.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("applicant_id","ApplicantID","string",ID,False),
    f("reason","Reason","string",S(2000)), f("round","Round","int",{"type":"integer","minimum":1})]),
  ("cop_resubmitted", "CoPResubmitted", "The applicant edited a proposal the hub asked changes of and resubmitted it; it awaits the hub's decision again. Carries the proposal's public fields as they now stand.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("applicant_id","ApplicantID","string",ID,False),
    f("round","Round","int",{"type":"integer","minimum":2}), f("name","Name","string",S(200)),
    f("scope","Scope","string",{"type":"string","enum":["local","regional","national"]}),
    f("topics","Topics","[]string",A(S(100))), f("host_organisations","HostOrganisations","[]string",A(S(200)))]),
  ("cop_approved", "CoPApproved", "A proposed CoP was approved; other services now accept it.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("reason","Reason","string",S(2000,False),False),
    f("applicant_id","ApplicantID","string",ID,False)]),
  ("cop_declined", "CoPDeclined", "A proposed CoP was declined.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("reason","Reason","string",S(2000,False)),
    f("applicant_id","ApplicantID","string",ID,False)]),
  ("charter_published", "CharterPublished", "A new charter version (aims, Terms of Reference, Code of Practice) was published; its version is the CoP's current Code of Practice version.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("version","Version","int",{"type":"integer","minimum":1})]),
  ("stage_changed", "StageChanged", "A CoP moved between Wenger stages.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("from","From","string",STAGE), f("to","To","string",STAGE)]),
  ("cop_retired", "CoPRetired", "A CoP was retired.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("reason","Reason","string",S(2000,False))]),
 ],
 "membership": [
  ("person_registered", "PersonRegistered", "A person registered. Carries the id only: names and e-mails stay in membership.",
   [f("person_id","PersonID","string",ID)]),
  ("member_joined", "MemberJoined", "A person joined a CoP, accepting its current Code of Practice.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("person_id","PersonID","string",ID),
    f("code_of_practice_version","CodeOfPracticeVersion","int",{"type":"integer","minimum":1})]),
  ("member_left", "MemberLeft", "A membership ended: the member left, was removed, the CoP retired, or the person was erased.",
   [f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN), f("person_id","PersonID","string",ID),
    f("reason","Reason","string",{"type":"string","enum":["left","removed","cop_retired","erased"]})]),
  ("grant_given", "GrantGiven", "A person was given a grant: national staff, hub officer of a region, coordinator or working group of a CoP, member of a CoP.",
   [f("person_id","PersonID","string",ID), f("role","Role","string",GRANT_ROLE),
    f("region","Region","string",S(64,False),False), f("cop_id","CoPID","string",S(64,False),False)]),
  ("grant_withdrawn", "GrantWithdrawn", "A person lost a grant (a term ended, a member left or was removed, an officer was stood down, the person was erased).",
   [f("person_id","PersonID","string",ID), f("role","Role","string",GRANT_ROLE),
    f("region","Region","string",S(64,False),False), f("cop_id","CoPID","string",S(64,False),False),
    f("reason","Reason","string",S(200))]),
  ("access_revoked", "AccessRevoked", "Tokens stop working: every token of the person issued before not_before (signed out everywhere, a grant withdrawn, erased), or the one token token_id (a personal API token revoked). Every service applies it.",
   [f("person_id","PersonID","string",ID), f("token_id","TokenID","string",S(64,False),False),
    f("not_before","NotBefore","time.Time",TIME,False), f("expires_at","ExpiresAt","time.Time",TIME),
    f("reason","Reason","string",{"type":"string","enum":["signed_out_everywhere","grant_withdrawn","token_revoked","erased"]})]),
  ("role_assigned", "RoleAssigned", "A member took a role in a CoP.",
   [f("cop_id","CoPID","string",ID), f("person_id","PersonID","string",ID),
    f("role","Role","string",{"type":"string","enum":["member","working_group","coordinator"]})]),
  ("role_revoked", "RoleRevoked", "A member gave up or lost a role in a CoP.",
   [f("cop_id","CoPID","string",ID), f("person_id","PersonID","string",ID),
    f("role","Role","string",{"type":"string","enum":["member","working_group","coordinator"]})]),
  ("coordinator_proposed", "CoordinatorProposed", "A coordinator appointment opened its consent window.",
   [f("appointment_id","AppointmentID","string",ID), f("cop_id","CoPID","string",ID), f("person_id","PersonID","string",ID),
    f("consent_ends_at","ConsentEndsAt","time.Time",TIME)]),
  ("coordinator_appointed", "CoordinatorAppointed", "The consent window closed without objection: the person coordinates the CoP for a term.",
   [f("appointment_id","AppointmentID","string",ID), f("cop_id","CoPID","string",ID), f("person_id","PersonID","string",ID),
    f("term_ends_at","TermEndsAt","time.Time",TIME), f("previous_person_id","PreviousPersonID","string",S(64,False),False)]),
  ("removal_proposed", "RemovalProposed", "A working-group member proposed removing a member; it carries with 75% of the working group.",
   [f("removal_id","RemovalID","string",ID), f("cop_id","CoPID","string",ID), f("person_id","PersonID","string",ID),
    f("working_group_size","WorkingGroupSize","int",{"type":"integer","minimum":0}),
    f("votes_needed","VotesNeeded","int",{"type":"integer","minimum":0})]),
  ("removal_carried", "RemovalCarried", "A removal reached 75% of the working group: the member is removed.",
   [f("removal_id","RemovalID","string",ID), f("cop_id","CoPID","string",ID), f("person_id","PersonID","string",ID),
    f("supporting_votes","SupportingVotes","int",{"type":"integer","minimum":0}),
    f("working_group_size","WorkingGroupSize","int",{"type":"integer","minimum":0})]),
  ("removal_rejected", "RemovalRejected", "A removal can no longer reach 75% of the working group.",
   [f("removal_id","RemovalID","string",ID), f("cop_id","CoPID","string",ID), f("person_id","PersonID","string",ID),
    f("supporting_votes","SupportingVotes","int",{"type":"integer","minimum":0}),
    f("working_group_size","WorkingGroupSize","int",{"type":"integer","minimum":0})]),
  ("person_erased", "PersonErased", "A person asked to be forgotten: every service scrubs this id.",
   [f("person_id","PersonID","string",ID)]),
 ],
 "scheduling": [
  ("program_planned", "ProgramPlanned", "A CoP planned a program of sessions.",
   [f("program_id","ProgramID","string",ID), f("cop_id","CoPID","string",ID), f("title","Title","string",S(200)),
    f("sessions","Sessions","int",{"type":"integer","minimum":1}), f("timezone","Timezone","string",S(64)),
    f("cadence","Cadence","string",S(500)), f("format","Format","[]string",A(S(100)))]),
  ("session_scheduled", "SessionScheduled", "A session was put in the calendar.",
   [f("session_id","SessionID","string",ID), f("program_id","ProgramID","string",ID), f("cop_id","CoPID","string",ID),
    f("number","Number","int",{"type":"integer","minimum":1}), f("starts_at","StartsAt","time.Time",TIME),
    f("ends_at","EndsAt","time.Time",TIME), f("timezone","Timezone","string",S(64)),
    f("topic","Topic","string",S(200,False),False)]),
  ("session_rescheduled", "SessionRescheduled", "A session moved or changed its topic, place or link.",
   [f("session_id","SessionID","string",ID), f("cop_id","CoPID","string",ID), f("starts_at","StartsAt","time.Time",TIME),
    f("ends_at","EndsAt","time.Time",TIME), f("topic","Topic","string",S(200,False),False),
    f("sequence","Sequence","int",{"type":"integer","minimum":0})]),
  ("session_cancelled", "SessionCancelled", "A session was cancelled.",
   [f("session_id","SessionID","string",ID), f("cop_id","CoPID","string",ID), f("reason","Reason","string",S(2000,False))]),
  ("roles_assigned", "RolesAssigned", "A session's facilitator and note-taker (or hosting group) were chosen or changed.",
   [f("session_id","SessionID","string",ID), f("cop_id","CoPID","string",ID),
    f("facilitator","Facilitator","string",S(64,False),False), f("note_taker","NoteTaker","string",S(64,False),False),
    f("host_group","HostGroup","[]string",A(ID),False)]),
  ("attendance_recorded", "AttendanceRecorded", "Attendance of a session was recorded (person ids and statuses only).",
   [f("session_id","SessionID","string",ID), f("cop_id","CoPID","string",ID),
    f("attended","Attended","int",{"type":"integer","minimum":0}), f("apologies","Apologies","int",{"type":"integer","minimum":0}),
    f("absent","Absent","int",{"type":"integer","minimum":0}),
    f("members","Members","int",{"type":"integer","minimum":0},False),
    f("starts_at","StartsAt","time.Time",TIME,False),
    f("records","Records","[]Attendance",A({"type":"object","properties":{"person_id":ID,"status":{"type":"string","enum":["attended","apologies","absent"]}},"required":["person_id","status"]}))]),
  ("session_held", "SessionHeld", "A session took place; feedback opens its evaluation, knowledge counts its topics as supply.",
   [f("session_id","SessionID","string",ID), f("cop_id","CoPID","string",ID), f("program_id","ProgramID","string",ID),
    f("number","Number","int",{"type":"integer","minimum":1}), f("held_at","HeldAt","time.Time",TIME),
    f("starts_at","StartsAt","time.Time",TIME,False),
    f("topic","Topic","string",S(200,False),False), f("topics","Topics","[]string",A(S(100)))]),
  ("participation_declining", "ParticipationDeclining", "Attendance of the last sessions fell well below the first ones.",
   [f("cop_id","CoPID","string",ID), f("early_rate","EarlyRate","float64",{"type":"number","minimum":0,"maximum":1}),
    f("recent_rate","RecentRate","float64",{"type":"number","minimum":0,"maximum":1}),
    f("drop","Drop","float64",{"type":"number"})]),
  ("checkin_due", "CheckinDue", "A session after which the CoP checks whether it still meets a need was held.",
   [f("cop_id","CoPID","string",ID), f("session_id","SessionID","string",ID), f("number","Number","int",{"type":"integer","minimum":1})]),
 ],
 "knowledge": [
  ("topic_added", "TopicAdded", "A topic joined the shared taxonomy.",
   [f("topic_id","TopicID","string",ID), f("name","Name","string",S(100)), f("synonyms","Synonyms","[]string",A(S(100)))]),
  ("project_mapped", "ProjectMapped", "A CoP mapped a project or engagement: who it asks, where, when.",
   [f("project_id","ProjectID","string",ID), f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN),
    f("organisation","Organisation","string",S(200,False)), f("topics","Topics","[]string",A(S(100))),
    f("communities","Communities","[]Community",A({"type":"object","properties":{"place":S(200),"group":S(200)},"required":["place","group"]})),
    f("starts_on","StartsOn","string",DATE), f("ends_on","EndsOn","string",DATE),
    f("title","Title","string",S(200,False),False)]),
  ("overlap_detected", "OverlapDetected", "Two projects ask the same community (fatigue) or share topics in a region (duplication).",
   [f("overlap_id","OverlapID","string",ID), f("kind","Kind","string",{"type":"string","enum":["fatigue","duplication"]}),
    f("score","Score","float64",NUM), f("project_ids","ProjectIDs","[]string",{"type":"array","items":ID,"minItems":2,"maxItems":2}),
    f("cop_ids","CoPIDs","[]string",A(ID)), f("regions","Regions","[]string",A(TOKEN))]),
  ("overlap_resolved", "OverlapResolved", "Someone acted on an overlap.",
   [f("overlap_id","OverlapID","string",ID), f("status","Status","string",{"type":"string","enum":["acknowledged","coordinated","dismissed"]})]),
  ("expertise_declared", "ExpertiseDeclared", "A person declared expertise on topics.",
   [f("expertise_id","ExpertiseID","string",ID), f("person_id","PersonID","string",ID), f("topics","Topics","[]string",A(S(100))),
    f("level","Level","string",S(50)), f("visibility","Visibility","string",{"type":"string","enum":["cop","region","national"]}),
    f("region","Region","string",S(64,False),False)]),
  ("request_raised", "RequestRaised", "A member asked for information on topics.",
   [f("request_id","RequestID","string",ID), f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN),
    f("topics","Topics","[]string",A(S(100))), f("asker_id","AskerID","string",ID,False),
    f("routed_to","RoutedTo","[]string",A(ID),False)]),
  ("request_answered", "RequestAnswered", "A request for information got an answer.",
   [f("request_id","RequestID","string",ID), f("answer_id","AnswerID","string",ID), f("asker_id","AskerID","string",ID,False)]),
  ("asset_shared", "AssetShared", "A CoP shared a reusable asset.",
   [f("asset_id","AssetID","string",ID), f("cop_id","CoPID","string",ID), f("region","Region","string",TOKEN),
    f("topics","Topics","[]string",A(S(100))), f("licence","Licence","string",S(100,False))]),
  ("gap_identified", "GapIdentified", "A region has demand on a topic and no supply.",
   [f("region","Region","string",TOKEN), f("topic","Topic","string",S(100)), f("supplying_regions","SupplyingRegions","[]string",A(TOKEN))]),
  ("gap_filled", "GapFilled", "A region's gap closed: its demand on the topic now meets supply in the region.",
   [f("region","Region","string",TOKEN), f("topic","Topic","string",S(100))]),
 ],
 "feedback": [
  ("poll_opened", "PollOpened", "A poll, evaluation or check-in opened.",
   [f("poll_id","PollID","string",ID), f("cop_id","CoPID","string",ID), f("session_id","SessionID","string",S(64,False),False),
    f("kind","Kind","string",{"type":"string","enum":["scale","choice","ranking","words","evaluation","checkin"]}),
    f("purpose","Purpose","string",{"type":"string","enum":["poll","evaluation","checkin","learning_priorities"]})]),
  ("poll_closed", "PollClosed", "A poll closed.",
   [f("poll_id","PollID","string",ID), f("cop_id","CoPID","string",ID)]),
  ("results_published", "ResultsPublished", "A poll's aggregate results, published only at or above its minimum number of responses.",
   [f("poll_id","PollID","string",ID), f("cop_id","CoPID","string",ID), f("region","Region","string",S(64,False),False),
    f("session_id","SessionID","string",S(64,False),False), f("kind","Kind","string",S(50)), f("purpose","Purpose","string",S(50)),
    f("responses","Responses","int",{"type":"integer","minimum":1}), f("results","Results","map[string]any",RESULTS)]),
  ("stage_assessed", "StageAssessed", "A CoP took the stage self-assessment quiz.",
   [f("assessment_id","AssessmentID","string",ID), f("cop_id","CoPID","string",ID), f("stage","Stage","string",STAGE)]),
 ],
}

HELPER_TYPES = {
 "scheduling": "// Attendance is one person's attendance at a session.\ntype Attendance struct {\n\tPersonID string `json:\"person_id\"`\n\tStatus string `json:\"status\"`\n}\n",
 "knowledge": "// Community is a population group in a place (a hierarchical place code).\ntype Community struct {\n\tPlace string `json:\"place\"`\n\tGroup string `json:\"group\"`\n}\n",
}

def closed(schema):
    """Every object the contract describes is closed: a producer that sends a field no schema
    declares fails its own validation (in tests at least) instead of leaking undeclared data."""
    if isinstance(schema, dict):
        out = {k: closed(v) for k, v in schema.items()}
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema

# The repository root, or another directory given as the only argument (the freshness test
# generates into a temporary directory and compares).
root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.makedirs(f"{root}/pkg/events", exist_ok=True)
for svc, evs in EVENTS.items():
    os.makedirs(f"{root}/schemas/events/{svc}", exist_ok=True)
    go = [f"// Code generated by schemas/internal/events.py; DO NOT EDIT.\n\npackage events\n"]
    if any(t == "time.Time" for e in evs for (_,_,t,_,_) in e[3]):
        go.append('import "time"\n')
    go.append(f"// {svc.capitalize()} service events.\n")
    if svc in HELPER_TYPES: go.append(HELPER_TYPES[svc])
    names = []
    for (name, gname, desc, fields) in evs:
        props = {j: s for (j,g,t,s,r) in fields}
        req = [j for (j,g,t,s,r) in fields if r]
        schema = {"$schema":"https://json-schema.org/draft/2020-12/schema",
                  "$id":f"https://copnet.dev/schemas/events/{svc}/{name}.v1.json",
                  "title":f"{svc}.{name}.v1","description":desc,"type":"object","properties":props,"required":req}
        schema = closed(schema)
        with open(f"{root}/schemas/events/{svc}/{name}.v1.json","w") as fh:
            json.dump(schema, fh, indent=2); fh.write("\n")
        go.append(f"// {gname}: {desc}\ntype {gname} struct {{")
        for (j,g,t,s,r) in fields:
            go.append(f"\t{g} {t} `json:\"{j}{'' if r else (',omitzero' if t == 'time.Time' else ',omitempty')}\"`")
        go.append("}\n")
        go.append(f"// EventName implements Event.\nfunc ({gname}) EventName() Name {{ return Name{{\"{svc}\", \"{name}\", 1}} }}\n")
        names.append(gname)
    go.append(f"func {svc}Events() []Event {{\n\treturn []Event{{" + ", ".join(n+"{}" for n in names) + "}\n}\n")
    with open(f"{root}/pkg/events/{svc}_gen.go","w") as fh:
        fh.write("\n".join(go))

# The AsyncAPI document: every channel and message, generated from the same contract.
out = ["# Code generated by schemas/internal/events.py; DO NOT EDIT.",
       "asyncapi: 3.0.0", "info:", "  title: copnet events", "  version: 1.0.0", "  description: |",
       "    Every event copnet services publish. Subjects are cop.<origin-node>.<service>.<event>;",
       "    the origin token is the node that produced the event and nothing else may publish there.",
       "    The envelope travels in NATS headers as a CloudEvents 1.0 binary-mode message: ce-id (a ULID,",
       "    also Nats-Msg-Id), ce-type, ce-source (urn:copnet:node:<node-id>, unique across deployments;",
       "    its last part is the subject's origin token), ce-time, ce-specversion, content-type",
       "    (application/json: the CloudEvents datacontenttype), ce-traceparent and ce-tracestate (the",
       "    distributed-tracing extension; plain traceparent and tracestate carry the same W3C context),",
       "    and correlation_id.",
       "    Payloads carry ids, never personal data.",
       "defaultContentType: application/json", "channels:"]
msgs = []
for svc, evs in EVENTS.items():
    for (name, gname, desc, fields) in evs:
        key = f"{svc}_{name}"
        out += [f"  {key}:", f"    address: cop.{{node}}.{svc}.{name}", "    parameters:", "      node:",
                "        description: origin node id (also its JetStream domain)", "    messages:",
                f"      {key}_v1:", f"        $ref: '#/components/messages/{key}_v1'"]
        msgs.append((svc, name, desc))
out += ["operations:"]
for svc, name, desc in msgs:
    out += [f"  publish_{svc}_{name}:", "    action: send", "    channel:", f"      $ref: '#/channels/{svc}_{name}'"]
out += ["components:", "  messageTraits:", "    envelope:", "      headers:", "        type: object",
        "        required: [ce-id, ce-type, ce-source, ce-time, ce-specversion, content-type]", "        properties:",
        "          ce-id: {type: string, description: ULID; also Nats-Msg-Id}", "          ce-type: {type: string}",
        "          ce-source: {type: string, format: uri-reference, pattern: '^urn:copnet:node:[a-z0-9][a-z0-9_-]*$', description: 'urn:copnet:node:<origin node id>'}",
        "          ce-time: {type: string, format: date-time}", "          ce-specversion: {type: string, const: '1.0'}",
        "          content-type: {type: string, const: application/json}",
        "          ce-traceparent: {type: string, description: W3C trace context (CloudEvents distributed-tracing extension)}",
        "          ce-tracestate: {type: string}", "          traceparent: {type: string}", "          tracestate: {type: string}",
        "          correlation_id: {type: string}", "  messages:"]
for svc, name, desc in msgs:
    out += [f"    {svc}_{name}_v1:", f"      name: {svc}.{name}.v1", f"      summary: {json.dumps(desc)}", "      traits:",
            "        - $ref: '#/components/messageTraits/envelope'", "      payload:",
            f"        $ref: './events/{svc}/{name}.v1.json'"]
with open(f"{root}/schemas/asyncapi.yaml", "w") as fh:
    fh.write("\n".join(out) + "\n")
