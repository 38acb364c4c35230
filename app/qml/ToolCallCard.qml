import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// A tool call of the model (role assistant with a tool name in its metadata) or its result
// (role observation), as a card: collapsed, the tool and the status; expanded, the arguments or
// the result text.
Rectangle {
    id: card
    required property string role
    required property string toolName
    required property string content
    required property string messageState
    property bool expanded: false
    readonly property bool isResult: role === "observation"
    // A denial is stored as an error whose text tells the model the user said no.
    readonly property string status: !isResult ? (messageState === "streaming" ? "running" : "call")
                                     : messageState === "done" ? "ok"
                                     : messageState === "stopped" ? "stopped"
                                     : content.startsWith("The user d") ? "denied" : "error"
    readonly property string details: {
        if (isResult) return content
        // The call's text is "name\n{arguments}".
        const json = content.trim().substring(content.trim().indexOf("\n") + 1)
        try { return JSON.stringify(JSON.parse(json), null, 2) } catch (e) { return json }
    }
    implicitHeight: column.implicitHeight + 16
    radius: Theme.radius
    color: Theme.codeBackground
    border.color: status === "error" || status === "denied" ? Theme.danger : Theme.border

    ColumnLayout {
        id: column
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.top: parent.top
        anchors.margins: 8
        spacing: 6
        RowLayout {
            Layout.fillWidth: true
            spacing: 8
            ToolButton {
                text: card.expanded ? "\u25be" : "\u25b8"
                implicitWidth: 28
                implicitHeight: 28
                onClicked: card.expanded = !card.expanded
                Accessible.name: card.expanded ? qsTr("Collapse") : qsTr("Expand")
            }
            Label {
                text: card.isResult ? qsTr("Result of %1").arg(card.toolName) : qsTr("Tool call: %1").arg(card.toolName)
                font.bold: true
                color: Theme.text
                elide: Text.ElideRight
                Layout.fillWidth: true
            }
            Label {
                visible: card.status !== "call"
                font.pixelSize: 12
                color: card.status === "ok" ? Theme.accent
                       : card.status === "error" || card.status === "denied" ? Theme.danger
                       : card.status === "stopped" ? Theme.warning : Theme.mutedText
                text: card.status === "ok" ? qsTr("ok")
                      : card.status === "error" ? qsTr("error")
                      : card.status === "denied" ? qsTr("denied")
                      : card.status === "stopped" ? qsTr("stopped")
                      : qsTr("calling…")
            }
            TapHandler { onTapped: card.expanded = !card.expanded }
        }
        TextEdit {
            visible: card.expanded
            Layout.fillWidth: true
            text: card.details
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
}
