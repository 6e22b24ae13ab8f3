@control-users @epic:control-api @severity:normal
Feature: Control Users
  An external system blocks an agent from task distribution, unblocks them, pushes an external
  task to them and sets their presence, as the LUCS use case "Control Users" documents it.

  Background:
    Given the target user is selectable in the service

  @smoke @story:listing
  Scenario: The target user is listed as selectable and not blocked
    When I list the users of the service
    Then the list contains the target user with:
      | field                | value  |
      | IsSelectable         | true   |
      | IsBlockedByLuwareApi | false  |
      | NotSelectableReason  | null   |
      | PresenceState        | Online |

  @smoke @changes-state @story:blocking @severity:critical
  Scenario: Blocking takes the user out of distribution without touching presence
    When I block the target user
    Then the returned user is the target user
    And the returned user has:
      | field                | value          |
      | IsBlockedByLuwareApi | true           |
      | NotSelectableReason  | "InAServiceTask" |
      | IsSelectable         | false          |
    And the returned user's presence is unchanged
    And the target user as listed has:
      | field                | value          |
      | IsBlockedByLuwareApi | true           |
      | NotSelectableReason  | "InAServiceTask" |
      | IsSelectable         | false          |
    And the target user's presence as listed is unchanged

  @changes-state @story:blocking @severity:critical
  Scenario: Unblocking a blocked user makes them selectable again
    Given the target user is blocked
    When I unblock the target user
    Then the returned user is the target user
    And the returned user has:
      | field                | value |
      | IsBlockedByLuwareApi | false |
      | NotSelectableReason  | null  |
      | IsSelectable         | true  |
    And the target user as listed has:
      | field                | value |
      | IsBlockedByLuwareApi | false |
      | NotSelectableReason  | null  |
      | IsSelectable         | true  |
    And the target user's presence as listed is unchanged

  @smoke @changes-state @story:external-tasks @severity:critical
  Scenario: A task for a blocked user waits, and is taken at once when the user is unblocked
    Given the target user is blocked
    When I post an external task that prefers only the target user
    Then LUCS answers with the id of the new task
    And the task stays pending
    When I unblock the target user
    Then the returned user has:
      | field                | value |
      | IsBlockedByLuwareApi | false |
    And the task is distributed to and accepted by the target user
    And the target user as listed has:
      | field                | value              |
      | IsBlockedByLuwareApi | false              |
      | NotSelectableReason  | "InAnExternalTask" |
      | IsSelectable         | false              |
      | PresenceState        | Online             |

  @changes-state @story:external-tasks
  Scenario: Closing the task frees the agent again
    Given an external task that prefers only the target user is posted
    And the task is distributed to and accepted by the target user
    When I close the task
    Then the target user as listed has:
      | field               | value |
      | NotSelectableReason | null  |
      | IsSelectable        | true  |

  @smoke @changes-state @story:presence
  Scenario: Setting the presence to Do-Not-Disturb
    When I set the presence of the target user to "DoNotDisturb"
    Then LUCS answers 200 with no body
    And the target user's presence reads "DoNotDisturb"

  @negative @story:blocking
  Scenario: Blocking an unknown user is refused
    When I try to block an unknown user
    Then the request is refused with a client error in the LUCS error envelope

  @negative @story:blocking
  Scenario: Unblocking an unknown user is refused
    When I try to unblock an unknown user
    Then the request is refused with a client error in the LUCS error envelope

  @negative @story:external-tasks
  Scenario Outline: A malformed task body is refused
    When I try to post an external task with this body:
      """
      <body>
      """
    Then the request is refused with a client error in the LUCS error envelope

    Examples:
      | body                                                               |
      | {"ExternalTaskId": "x"}                                            |
      | {"ExternalTaskId": 42, "Service": "7830678b-03b1-4e71-af33-a3987142519f"} |
      | {"ExternalTaskId": "x", "Service": "not-a-guid"}                   |
      | {"ExternalTaskId": "x", "Service": "7830678b-03b1-4e71-af33-a3987142519f", "ConsiderPreferredAgentsOnly": "yes"} |
      | {not json                                                          |

  @negative @changes-state @story:presence
  Scenario: An unknown presence value is refused
    When I try to set the presence of the target user to "Sleepy"
    Then the request is refused with a client error in the LUCS error envelope
    And the target user's presence as listed is unchanged
