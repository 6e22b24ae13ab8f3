@changes-state
Feature: Parallel load
  The Control Users round trip, 40 times, to measure what pytest-xdist gains against one LUCS.

  Scenario Outline: Block, queue a task, unblock, see it accepted, close it (run <run>)
    Given the target user is selectable in the service
    And the target user is blocked
    When I post an external task that prefers only the target user
    Then the task stays pending
    When I unblock the target user
    Then the task is distributed to and accepted by the target user
    When I close the task
    Then the target user as listed has:
      | field        | value |
      | IsSelectable | true  |

    Examples:
      | run |
      |   1 |
      |   2 |
      |   3 |
      |   4 |
      |   5 |
      |   6 |
      |   7 |
      |   8 |
      |   9 |
      |  10 |
      |  11 |
      |  12 |
      |  13 |
      |  14 |
      |  15 |
      |  16 |
      |  17 |
      |  18 |
      |  19 |
      |  20 |
      |  21 |
      |  22 |
      |  23 |
      |  24 |
      |  25 |
      |  26 |
      |  27 |
      |  28 |
      |  29 |
      |  30 |
      |  31 |
      |  32 |
      |  33 |
      |  34 |
      |  35 |
      |  36 |
      |  37 |
      |  38 |
      |  39 |
      |  40 |
