import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// A tool call waiting for the user: the tool, where it comes from and its arguments, and the answer.
// Deny tells the model the call was refused; Always allow stores the tool's policy.
Rectangle {
    id: card
    required property var consent   // {callId, tool, source, arguments} from ToolHost.pendingConsents
    property var host: ChatController.toolHost
    readonly property string prettyArguments: {
        try { return JSON.stringify(JSON.parse(consent.arguments), null, 2) } catch (e) { return consent.arguments }
    }
    implicitHeight: content.implicitHeight + 20
    Layout.leftMargin: 12
    Layout.rightMargin: 12
    radius: Theme.radius
    color: Theme.dark ? "#262a33" : "#f1f5fd"
    border.color: Theme.warning

    ColumnLayout {
        id: content
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.top: parent.top
        anchors.margins: 10
        spacing: 6
        Label {
            Layout.fillWidth: true
            wrapMode: Text.Wrap
            color: Theme.text
            font.bold: true
            text: qsTr("The model wants to call %1 (%2)").arg(card.consent.tool)
                  .arg(card.consent.source === "built-in" ? qsTr("built-in") : card.consent.source)
        }
        Rectangle {
            Layout.fillWidth: true
            implicitHeight: Math.min(argumentsText.implicitHeight + 12, 160)
            radius: Theme.radius
            color: Theme.codeBackground
            border.color: Theme.border
            clip: true
            TextEdit {
                id: argumentsText
                anchors.fill: parent
                anchors.margins: 6
                text: card.prettyArguments
                textFormat: TextEdit.PlainText
                wrapMode: TextEdit.WrapAnywhere
                readOnly: true
                selectByMouse: true
                font.family: Theme.monoFont
                font.pixelSize: 13
                color: Theme.text
                selectionColor: Theme.accent
            }
        }
        RowLayout {
            Layout.alignment: Qt.AlignRight
            spacing: 8
            Button {
                objectName: "denyButton"
                text: qsTr("Deny")
                flat: true
                onClicked: card.host.answerConsent(card.consent.callId, "deny")
            }
            Button {
                objectName: "alwaysButton"
                text: qsTr("Always allow this tool")
                flat: true
                onClicked: card.host.answerConsent(card.consent.callId, "always")
            }
            AccentButton {
                objectName: "onceButton"
                text: qsTr("Allow once")
                onClicked: card.host.answerConsent(card.consent.callId, "once")
            }
        }
    }
}
