@epic:control-api @story:operation-steps @severity:normal
Feature: Operations called by their names
  A QA engineer checks one more field of a documented call without writing Python: any operation of
  the operations table is called by its name, its answer checked against its schema as every call
  is, then judged field by field. A call that changes LUCS needs the scenario's @changes-state tag
  and is undone after the scenario as the operations table says (a block by an unblock, a callback
  by its cancel). The callbacks here are due in 2099: nobody dials them before they are cancelled.

  Scenario: The service's users are listed by the operation's name
    When I call "list_users" for the configured service
    Then the status is 200
    And the response matches the schema "UserList"
    And the response is a list of at least 1 item

  @changes-state
  Scenario: A user blocked by the operation's name is unblocked after the scenario
    Given the target user is selectable in the service
    When I call "block_user" for the target user
    Then the status is 200
    And the response matches the schema "User"
    And the response field "SipUri" is "{{target user}}"
    And the response field "IsBlockedByLuwareApi" is true
    And the response field "NotSelectableReason" is "InAServiceTask"
    And the response field "Capabilities.Audio" is true

  @changes-state
  Scenario: A callback requested with a table is found by its ExternalTaskId
    When I call "create_callback" with:
      | field                 | value                  |
      | Target                | {{target user}}        |
      | ServiceId             | {{configured service}} |
      | Priority              | "High"                 |
      | SecondsBetweenRetries | 30                     |
      | DueDate               | "2099-01-01T09:00:00Z" |
    Then the status is 200
    And the response field "State" is "Pending"
    And the response field "Priority" is "High"
    When I call "search_callbacks" with:
      """
      {"ExternalTaskId": "{{response ExternalTaskId}}"}
      """
    Then the response is a list of at least 1 item
    And the response field "[0].State" is "Pending"
    And the response field "[0].Target" is "{{target user}}"

  @changes-state
  Scenario: A callback requested with a doc string is read back by its parameters
    When I call "create_callback" with:
      """
      {
        "Target": "{{target user}}",
        "ServiceId": "{{configured service}}",
        "Priority": "Normal",
        "SecondsBetweenRetries": 0,
        "MaxRetries": 2,
        "DueDate": "2099-01-01T09:00:00Z"
      }
      """
    Then the response field "MaxRetries" is 2
    When I call "get_callback" with the parameters:
      | parameter      | value                       |
      | externalTaskId | {{response ExternalTaskId}} |
    Then the status is 200
    And the response matches the schema "CallbackDto"
    And the response field "State" is "Pending"
    And the response field "MaxRetries" is 2

  @negative
  Scenario: A callback nobody requested is refused in the error envelope
    When I try to call "get_callback" with the parameters:
      | parameter      | value                                 |
      | externalTaskId | lucs-harness-00000000-00000000-000000 |
    Then the request is refused with a client error in the LUCS error envelope
