import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// The attached document: its size in tokens against the free context, and what to do with it.
// A document over the budget is never cut silently: the user picks Truncate or Summarize in parts.
Rectangle {
    id: card
    readonly property string overflow: ChatController.documentOverBudget ? overflowChoice.currentValue : ""
    implicitHeight: content.implicitHeight + 20
    Layout.leftMargin: 12
    Layout.rightMargin: 12
    radius: Theme.radius
    color: Theme.dark ? "#262a33" : "#f1f5fd"
    border.color: ChatController.documentOverBudget && ChatController.documentState === "ready" ? Theme.warning : Theme.border

    ColumnLayout {
        id: content
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.top: parent.top
        anchors.margins: 10
        spacing: 6
        RowLayout {
            Layout.fillWidth: true
            Label { text: ChatController.documentName; font.bold: true; color: Theme.text; elide: Text.ElideMiddle; Layout.maximumWidth: 360 }
            Label {
                Layout.fillWidth: true
                color: ChatController.documentState === "error" ? Theme.danger
                       : ChatController.documentOverBudget ? Theme.warning : Theme.mutedText
                elide: Text.ElideRight
                text: ChatController.documentState === "reading" ? qsTr("Reading the document…")
                      : ChatController.documentState === "error" ? ChatController.documentError
                      : ChatController.documentState === "summarizing" ? ChatController.documentProgress
                      : (ChatController.documentTokensExact ? qsTr("%1 tokens").arg(ChatController.documentTokens) : qsTr("about %1 tokens").arg(ChatController.documentTokens))
                        + " · " + qsTr("%1 free in the context").arg(ChatController.documentBudget)
            }
            BusyIndicator {
                visible: ChatController.documentState === "reading" || ChatController.documentState === "counting" || ChatController.documentState === "summarizing"
                running: visible
                implicitWidth: 24
                implicitHeight: 24
            }
            ToolButton { text: "\u2715"; onClicked: ChatController.clearDocument(); Accessible.name: qsTr("Remove the document") }
        }
        Label {
            Layout.fillWidth: true
            visible: ChatController.documentState === "ready" && ChatController.documentOverBudget
            wrapMode: Text.Wrap
            color: Theme.warning
            text: qsTr("The document does not fit in the context. Truncate it to the part that fits, or summarize it in parts (each part is summarized, then the summaries are combined).")
        }
        RowLayout {
            visible: ChatController.documentState === "ready"
            spacing: 8
            ComboBox {
                id: overflowChoice
                visible: ChatController.documentOverBudget
                implicitWidth: 220
                textRole: "label"
                valueRole: "value"
                model: [{ label: qsTr("Summarize in parts"), value: "parts" }, { label: qsTr("Truncate to fit"), value: "truncate" }]
            }
            AccentButton {
                text: qsTr("Summarize")
                enabled: ChatController.modelState === "ready" && !ChatController.generating
                onClicked: ChatController.useDocument("summarize", "", ChatController.documentOverBudget ? overflowChoice.currentValue : "")
            }
            Label { text: qsTr("or type a question below and press Enter to ask about it"); color: Theme.mutedText }
        }
    }
}
