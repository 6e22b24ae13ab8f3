@epic:control-api @story:callbacks @severity:normal
Feature: Manage Callbacks
  An external system asks LUCS to call someone back on behalf of a service, reads the callback back
  by its own ExternalTaskId, searches the callbacks and cancels one, as the LUCS use case "Manage
  Callbacks" documents it. The service must take callbacks (Direction Type "InboundOutbound").

  Each callback calls the target user back for the configured service and is due in an hour, so no
  agent dials it before the scenario ends; every callback a scenario requests is cancelled after it.
  The callbacks of one scenario share a CallerId, so "the callbacks requested in this scenario" are
  found apart from any others.

  @smoke @changes-state
  Scenario: A new callback is answered with the documented defaults filled
    When I request a callback "call me" for the target user
    Then the new callback has:
      | field                    | value           |
      | State                    | "Pending"       |
      | MaxRetries               | 3               |
      | RetryType                | "SingleSession" |
      | RetryCount               | 0               |
      | LeftInQueueTimeInSeconds | 3600            |
      | ServiceSip               | null            |
      | AlternativeTarget        | null            |
      | IncomingServiceSipUri    | null            |
      | ContextUrl               | null            |
      | Supervisor               | null            |
      | InitiatingSessionId      | null            |
      | Initiator                | null            |
    And the new callback echoes what was requested
    And the new callback belongs to the configured service

  @changes-state
  Scenario: A callback is read back by the ExternalTaskId it was requested with
    Given callbacks "first" and "second" for the target user have been requested in this order
    When I read the callback "second" by its ExternalTaskId
    Then the callback read is "second"

  @changes-state
  Scenario: An empty search finds every callback, the new one among them
    Given a callback "mine" for the target user has been requested
    When I search the callbacks with no filter
    Then the callbacks found include "mine"

  @changes-state
  Scenario: A search by service finds that service's callbacks only
    Given a callback "mine" for the target user has been requested
    When I search the callbacks of the configured service
    Then the callbacks found include "mine"
    And every callback found belongs to the configured service

  @changes-state
  Scenario: A search by ExternalTaskId finds that callback alone
    Given callbacks "wanted" and "other" for the target user have been requested in this order
    When I search the callbacks by the ExternalTaskId of "wanted"
    Then the only callback found is "wanted"

  @changes-state
  Scenario: A search by state finds only the callbacks in that state
    Given callbacks "kept" and "dropped" for the target user have been requested in this order
    And the callback "dropped" has been cancelled
    When I search the callbacks requested in this scenario with:
      | field | value     |
      | State | "Pending" |
    Then the only callback found is "kept"

  @changes-state
  Scenario: A search by another state leaves a pending callback out
    A cancelled callback may be gone from every search (LUCS: "removed already"), so only a search for
    a state the callback is not in proves that LUCS applies the State filter.
    Given a callback "pending" for the target user has been requested
    When I search the callbacks requested in this scenario with:
      | field | value        |
      | State | "Terminated" |
    Then the callbacks found do not include "pending"

  @changes-state
  Scenario: A search sorted in descending order lists the callbacks latest first
    Given callbacks "one", "two" and "three" for the target user have been requested in this order
    When I search the callbacks requested in this scenario with:
      | field     | value        |
      | SortOrder | "Descending" |
    Then the callbacks found are, in this order: "three", "two", "one"

  @changes-state
  Scenario: Limit and Offset give one page of the search
    Given callbacks "one", "two" and "three" for the target user have been requested in this order
    When I search the callbacks requested in this scenario with:
      | field     | value       |
      | SortOrder | "Ascending" |
      | Offset    | 1           |
      | Limit     | 1           |
    Then the only callback found is "two"

  @smoke @changes-state
  Scenario: A cancelled callback is no longer pending
    Given a callback "unwanted" for the target user has been requested
    When I cancel the callback "unwanted"
    Then the callback "unwanted" is no longer among the pending callbacks

  @negative @changes-state
  Scenario: Cancelling a callback a second time is refused as not found
    Given a callback "unwanted" for the target user has been requested
    And the callback "unwanted" has been cancelled
    When I try to cancel the callback "unwanted" again
    Then LUCS answers 404
    And the request is refused with a client error in the LUCS error envelope

  @negative
  Scenario: Cancelling an unknown callback is refused as not found
    When I try to cancel an unknown callback
    Then LUCS answers 404
    And the request is refused with a client error in the LUCS error envelope

  @negative @changes-state
  Scenario Outline: A callback request that breaks the documented rules is refused
    When I try to request a callback for the target user <flaw>
    Then the request is refused with a client error in the LUCS error envelope

    Examples:
      | flaw                                  |
      | with the priority "Urgent"            |
      | with a description of 151 characters  |
      | without a Target                      |

  @mock-only @changes-state
  Scenario: A callback naming its service by SIP address is answered with the service's Id
    When I request a callback "by address" for the target user naming the service by its SIP address "sip:smoky.car@dev.local"
    Then the new callback belongs to the configured service
    And the new callback has:
      | field      | value |
      | ServiceSip | null  |

  @mock-only @negative @changes-state
  Scenario: A callback for a service that does not take callbacks is refused
    When I try to request a callback for the target user naming the service by its SIP address "sip:smoky.ins@dev.local"
    Then the request is refused with a client error in the LUCS error envelope

  @mock-only @changes-state
  Scenario: A due callback is queued, taken by an agent and done as the mock clock runs
    Given a callback "soon" for the target user that is due now has been requested
    Then the callback "soon" is in state "Pending"
    When 1 second passes on the mock clock
    Then the callback "soon" is in state "InQueue"
    When 10 more seconds pass on the mock clock
    Then the callback "soon" is in state "Processing"
    When 60 more seconds pass on the mock clock
    Then the callback "soon" is in state "Terminated"
