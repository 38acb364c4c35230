import QtQuick
import QtQuick.Controls
import QtTest
import GlmChatCore

// The consent card answers the call it shows: Allow once, Always allow and Deny each call
// answerConsent with the card's call id and the matching decision (a stand-in host records them).
// The card is loaded from the source folder, outside the GlmChat module, so its Theme colours are
// unset here (warnings about undefined colours are expected); only the wiring is checked.
TestCase {
    id: testCase
    name: "ToolConsentCard"
    width: 700
    height: 400
    when: windowShown

    QtObject {
        id: fakeHost
        property var answers: []
        function answerConsent(callId, decision) { answers = answers.concat([[callId, decision]]) }
    }

    function createCard(callId) {
        const component = Qt.createComponent(Qt.resolvedUrl("../../../app/qml/ToolConsentCard.qml"))
        compare(component.status, Component.Ready, component.errorString())
        const card = createTemporaryObject(component, testCase, {
            consent: { callId: callId, tool: "calculator", source: "built-in", arguments: "{\"expression\":\"1+2\"}" },
            host: fakeHost, width: 640 })
        verify(card !== null)
        return card
    }

    function test_buttonsAnswerWithTheirDecision_data() {
        return [{ tag: "once", button: "onceButton", decision: "once" },
                { tag: "always", button: "alwaysButton", decision: "always" },
                { tag: "deny", button: "denyButton", decision: "deny" }]
    }

    function test_buttonsAnswerWithTheirDecision(data) {
        fakeHost.answers = []
        const card = createCard(42)
        const button = findChild(card, data.button)
        verify(button !== null)
        button.clicked()
        compare(fakeHost.answers.length, 1)
        compare(fakeHost.answers[0][0], 42)
        compare(fakeHost.answers[0][1], data.decision)
    }

    function test_argumentsArePrettyJson() {
        const card = createCard(7)
        compare(card.prettyArguments, "{\n  \"expression\": \"1+2\"\n}")
    }
}
